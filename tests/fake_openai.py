"""Fake OpenAI Chat Completions API, strict like the real one.

Format per https://platform.openai.com/docs/api-reference/chat: `chat.completion` objects,
`chat.completion.chunk` SSE events ending with `data: [DONE]`, the usage-only last chunk
with `stream_options.include_usage`, and the error envelope
{"error": {"message", "type", "param", "code"}} with 401 for a bad key and 400 for an
unknown parameter.
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
        return None

    def _answer(self, call: Call):
        body = call.body
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        request_id = {"x-request-id": "req_" + uuid.uuid4().hex}  # as OpenAI sends on each answer
        created = int(time.time())
        tool_call = None
        last = body["messages"][-1]
        if body.get("tools") and last.get("role") == "user":
            name = body["tools"][0]["function"]["name"]
            tool_call = {"id": "call_" + uuid.uuid4().hex[:24], "type": "function",
                         "function": {"name": name, "arguments": json.dumps({"city": "Paris"})}}
        text = "".join(self.words)
        if last.get("role") == "tool":
            text = f"The tool said: {last.get('content')}"
        usage = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
        if not body.get("stream"):
            message = {"role": "assistant", "content": None if tool_call else text,
                       "refusal": None, "annotations": []}
            if tool_call:
                message["tool_calls"] = [tool_call]
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
            events.append(chunk({"tool_calls": [{"index": 0, "id": tool_call["id"],
                                                 "type": "function",
                                                 "function": {"name": tool_call["function"]["name"],
                                                              "arguments": ""}}]}))
            for piece in ('{"city"', ': "Paris"}'):
                events.append(chunk({"tool_calls": [{"index": 0,
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
