"""Fake OpenAI Chat Completions API, strict like the real one.

Format per https://platform.openai.com/docs/api-reference/chat: `chat.completion` objects,
`chat.completion.chunk` SSE events ending with `data: [DONE]`, the usage-only last chunk
with `stream_options.include_usage`, and the error envelope
{"error": {"message", "type", "param", "code"}} with 401 for a bad key and 400 for an
unknown parameter. Like the real API it refuses more output tokens than a model has
(gpt-4o: 16,384), `reasoning_effort` for a model that does not reason, and tool messages
that do not answer the tool calls of the assistant message right before them. A user
message saying "all tools" gets one call of each tool (parallel calls).
"""
from __future__ import annotations

import json
import time
import uuid

from fake_upstream import Call, FakeUpstream, Reply, Stream, sse

KNOWN_PARAMS = {
    "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop",
    "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty",
    "logit_bias", "logprobs", "top_logprobs", "user", "tools", "tool_choice",
    "parallel_tool_calls", "response_format", "seed", "service_tier", "store", "metadata",
    "modalities", "audio", "prediction", "reasoning_effort", "functions", "function_call",
    "web_search_options", "verbosity", "prompt_cache_key", "safety_identifier",
}
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
# https://platform.openai.com/docs/models: most output tokens of the models tests use.
OUTPUT_LIMITS = {"gpt-4o": 16384, "gpt-4o-mini": 16384, "o3": 100000, "gpt-5": 128000}
REASONING_MODELS = {"o3", "gpt-5"}


def error(status: int, message: str, type_: str = "invalid_request_error",
          param=None, code=None, headers=None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": type_, "param": param,
                                    "code": code}}, headers or {})


class FakeOpenAI(FakeUpstream):
    """Answers /v1/chat/completions and /v1/models for the keys in `valid_keys`."""

    def __init__(self, valid_keys=(), prefix: str = "/v1"):
        self.valid_keys = set(valid_keys)
        self.prefix = prefix
        self.stream_interval = 0.0
        self.words = ["Hello", " from", " the", " fake", "."]
        super().__init__()

    @property
    def base_url(self) -> str:
        return self.url + self.prefix

    def handle(self, call: Call):
        if call.path == f"{self.prefix}/models" and call.method == "GET":
            return self._auth(call) or Reply(200, {"object": "list", "data": [
                {"id": "gpt-4o", "object": "model", "created": 1715367049,
                 "owned_by": "system"}]})
        if call.path != f"{self.prefix}/chat/completions":
            return error(404, f"Invalid URL ({call.method} {call.path})")
        if call.method != "POST":
            return error(405, "Method not allowed")
        return self._auth(call) or self._validate(call) or self._answer(call)

    def _auth(self, call: Call):
        if call.key not in self.valid_keys:
            shown = (call.key or "")[:3] + "*" * 8 + (call.key or "")[-4:]
            return error(401, f"Incorrect API key provided: {shown}. You can find your API "
                              "key at https://platform.openai.com/account/api-keys.",
                         code="invalid_api_key")
        return None

    def _validate(self, call: Call):
        body = call.body
        if not isinstance(body, dict):
            return error(400, "We could not parse the JSON body of your request.")
        for name in body:
            if name not in KNOWN_PARAMS:
                return error(400, f"Unrecognized request argument supplied: {name}")
        if not isinstance(body.get("model"), str):
            return error(400, "you must provide a model parameter", param="model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return error(400, "[] is too short - 'messages'", param="messages")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ROLES:
                return error(400, f"Invalid value for 'messages[{i}].role'.",
                             param=f"messages[{i}].role", code="invalid_value")
        if "stream_options" in body and not body.get("stream"):
            return error(400, "The 'stream_options' parameter is only allowed when 'stream' "
                              "is enabled.", param="stream_options")
        model = body["model"]
        for name in ("max_tokens", "max_completion_tokens"):
            limit = OUTPUT_LIMITS.get(model)
            if isinstance(body.get(name), int) and limit and body[name] > limit:
                return error(400, f"{name} is too large: {body[name]}. This model supports at "
                                  f"most {limit} completion tokens, whereas you provided "
                                  f"{body[name]}.", param=name, code="invalid_value")
        if "reasoning_effort" in body and model not in REASONING_MODELS:
            return error(400, "Unsupported parameter: 'reasoning_effort' is not supported "
                              "with this model.", param="reasoning_effort",
                         code="unsupported_parameter")
        return _tool_turns(messages)

    def _answer(self, call: Call):
        body = call.body
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        request_id = {"x-request-id": "req_" + uuid.uuid4().hex}  # as OpenAI sends on each answer
        created = int(time.time())
        tool_calls = []
        last = body["messages"][-1]
        if body.get("tools") and last.get("role") == "user" and body.get("tool_choice") != "none":
            tools = body["tools"] if "all tools" in str(last.get("content")) else body["tools"][:1]
            tool_calls = [{"id": "call_" + uuid.uuid4().hex[:24], "type": "function",
                           "function": {"name": tool["function"]["name"],
                                        "arguments": json.dumps({"city": "Paris"})}}
                          for tool in tools]
        tool_call = tool_calls[0] if tool_calls else None
        text = "".join(self.words)
        if last.get("role") == "tool":
            results = []
            for message in reversed(body["messages"]):
                if message.get("role") != "tool":
                    break
                results.insert(0, str(message.get("content")))
            text = f"The tool said: {'; '.join(results)}"
        usage = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
        if not body.get("stream"):
            message = {"role": "assistant", "content": None if tool_call else text,
                       "refusal": None, "annotations": []}
            if tool_calls:
                message["tool_calls"] = tool_calls
            return Reply(200, {
                "id": cid, "object": "chat.completion", "created": created,
                "model": body["model"], "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": "tool_calls" if tool_call else "stop"}],
                "usage": usage}, request_id)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta, finish=None):
            c = {"id": cid, "object": "chat.completion.chunk", "created": created,
                 "model": body["model"], "system_fingerprint": "fp_fake",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None,
                              "finish_reason": finish}]}
            if include_usage:
                c["usage"] = None
            return sse(c)

        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        if tool_call:
            for index, call in enumerate(tool_calls):
                events.append(chunk({"tool_calls": [{
                    "index": index, "id": call["id"], "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""}}]}))
                for piece in ('{"city"', ': "Paris"}'):
                    events.append(chunk({"tool_calls": [{"index": index,
                                                         "function": {"arguments": piece}}]}))
            events.append(chunk({}, "tool_calls"))
        else:
            events += [chunk({"content": w}) for w in
                       ([text] if last.get("role") == "tool" else self.words)]
            events.append(chunk({}, "stop"))
        if include_usage:
            events.append(sse({"id": cid, "object": "chat.completion.chunk",
                               "created": created, "model": body["model"],
                               "system_fingerprint": "fp_fake", "choices": [],
                               "usage": usage}))
        events.append(b"data: [DONE]\n\n")
        return Stream(events, interval=self.stream_interval, headers=request_id)


def _tool_turns(messages: list):
    """OpenAI's pairing rule: the tool calls of an assistant message are answered, each
    once, by the tool messages right after it, and a tool message answers nothing else."""
    pending: set = set()
    for i, message in enumerate(messages):
        if message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                return error(400, "Invalid parameter: messages with role 'tool' must be a "
                                  "response to a preceeding message with 'tool_calls'.",
                             param=f"messages.[{i}].role")
            pending.discard(call_id)
            continue
        if pending:
            return error(400, "An assistant message with 'tool_calls' must be followed by "
                              "tool messages responding to each 'tool_call_id'. The following "
                              f"tool_call_ids did not have response messages: "
                              f"{', '.join(sorted(pending))}", param=f"messages.[{i}].role")
        pending = {c.get("id") for c in message.get("tool_calls") or ()
                   if isinstance(c, dict)} if message.get("role") == "assistant" else set()
    return None
