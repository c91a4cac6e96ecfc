"""Fake OpenAI Chat Completions API, strict like the real one.

Format per https://platform.openai.com/docs/api-reference/chat: `chat.completion` objects,
`chat.completion.chunk` SSE events ending with `data: [DONE]`, the usage-only last chunk
with `stream_options.include_usage`, and the error envelope
{"error": {"message", "type", "param", "code"}} with 401 for a bad key and 400 for an
unknown parameter. Like the real API it refuses more output tokens than a model has
(gpt-4o: 16,384), `reasoning_effort` for a model that does not reason, and tool messages
that do not answer the tool calls of the assistant message right before them. A user
message saying "all tools" gets one call of each tool (parallel calls).

`/v1/responses` (https://platform.openai.com/docs/api-reference/responses) answers
`response` objects, or with `stream: true` the named event sequence from
`response.created` to `response.completed`; it refuses unknown parameters, a
`function_call_output` without its `function_call` and a `previous_response_id` it never
stored. `/v1/embeddings` (https://platform.openai.com/docs/api-reference/embeddings)
answers one vector per input, float or base64 (float32 little-endian), and refuses
`dimensions` for models that cannot shorten their vectors.
"""
from __future__ import annotations

import base64
import json
import struct
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
        if call.path == f"{self.prefix}/responses" and call.method == "POST":
            return self._auth(call) or fake_responses(call, self.words)
        if call.path == f"{self.prefix}/embeddings" and call.method == "POST":
            return self._auth(call) or fake_embeddings(call)
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


# -- Responses API ------------------------------------------------------------------------

RESPONSES_PARAMS = {
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
    "max_output_tokens", "max_tool_calls", "temperature", "top_p", "top_logprobs", "text",
    "reasoning", "stream", "stream_options", "store", "previous_response_id", "include",
    "metadata", "prompt", "prompt_cache_key", "prompt_cache_retention", "safety_identifier",
    "service_tier", "truncation", "user", "background", "conversation", "client_metadata",
}


def fake_responses(call: Call, words: list):
    body = call.body
    if not isinstance(body, dict):
        return error(400, "We could not parse the JSON body of your request.")
    for name in body:
        if name not in RESPONSES_PARAMS:
            return error(400, f"Unrecognized request argument supplied: {name}", param=name,
                         code="unknown_parameter")
    if not isinstance(body.get("model"), str):
        return error(400, "Missing required parameter: 'model'.", param="model",
                     code="missing_required_parameter")
    if body.get("previous_response_id"):
        return error(400, f"Previous response with id '{body['previous_response_id']}' not "
                          "found.", param="previous_response_id", code="previous_response_not_found")
    given = body.get("input")
    items = [{"type": "message", "role": "user", "content": given}] \
        if isinstance(given, str) else given
    if not isinstance(items, list) or not items:
        return error(400, "Invalid type for 'input': expected a string or an array.",
                     param="input", code="invalid_type")
    called = {i.get("call_id") for i in items if i.get("type") == "function_call"}
    for i, item in enumerate(items):
        if item.get("type") == "function_call_output" and item.get("call_id") not in called:
            return error(400, f"No tool call found for function call output with call_id "
                              f"{item.get('call_id')}.", param="input")
    last = items[-1]
    output = []
    rid, created = "resp_" + uuid.uuid4().hex, int(time.time())
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    if last.get("type") == "function_call_output":
        text = "The tool said: " + "; ".join(str(i.get("output")) for i in items
                                             if i.get("type") == "function_call_output")
        pieces = [text]
    else:
        text, pieces = "".join(words), list(words)
    if tools and last.get("type", "message") == "message" and body.get("tool_choice") != "none":
        chosen = tools if "all tools" in json.dumps(last.get("content")) else tools[:1]
        output = [{"type": "function_call", "id": "fc_" + uuid.uuid4().hex,
                   "call_id": "call_" + uuid.uuid4().hex[:24], "name": t["name"],
                   "arguments": json.dumps({"city": "Paris"}), "status": "completed"}
                  for t in chosen]
    else:
        output = [{"type": "message", "id": "msg_" + uuid.uuid4().hex, "status": "completed",
                   "role": "assistant", "content": [{"type": "output_text", "text": text,
                                                     "annotations": [], "logprobs": []}]}]
    usage = {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 6, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 18}
    response = {"id": rid, "object": "response", "created_at": created, "status": "completed",
                "error": None, "incomplete_details": None,
                "instructions": body.get("instructions"), "model": body["model"],
                "output": output, "parallel_tool_calls": True, "previous_response_id": None,
                "store": body.get("store", True), "temperature": 1.0,
                "text": {"format": {"type": "text"}}, "tool_choice": "auto",
                "tools": body.get("tools") or [], "top_p": 1.0, "truncation": "disabled",
                "usage": usage, "metadata": {}}
    request_id = {"x-request-id": "req_" + uuid.uuid4().hex}
    if not body.get("stream"):
        return Reply(200, response, request_id)
    return Stream(_response_events(response, pieces), headers=request_id)


def _response_events(response: dict, pieces: list) -> list:
    events, seq = [], [0]

    def emit(kind, **fields):
        events.append(sse({"type": kind, **fields, "sequence_number": seq[0]}, event=kind))
        seq[0] += 1

    start = {**response, "status": "in_progress", "output": [], "usage": None}
    emit("response.created", response=start)
    emit("response.in_progress", response=start)
    for index, item in enumerate(response["output"]):
        if item["type"] == "message":
            emit("response.output_item.added", output_index=index,
                 item={**item, "status": "in_progress", "content": []})
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            emit("response.content_part.added", item_id=item["id"], output_index=index,
                 content_index=0, part=part)
            for piece in pieces:
                emit("response.output_text.delta", item_id=item["id"], output_index=index,
                     content_index=0, delta=piece, logprobs=[])
            text = item["content"][0]["text"]
            emit("response.output_text.done", item_id=item["id"], output_index=index,
                 content_index=0, text=text, logprobs=[])
            emit("response.content_part.done", item_id=item["id"], output_index=index,
                 content_index=0, part={**part, "text": text})
        else:
            emit("response.output_item.added", output_index=index,
                 item={**item, "status": "in_progress", "arguments": ""})
            emit("response.function_call_arguments.delta", item_id=item["id"],
                 output_index=index, delta=item["arguments"])
            emit("response.function_call_arguments.done", item_id=item["id"],
                 output_index=index, arguments=item["arguments"])
        emit("response.output_item.done", output_index=index, item=item)
    emit("response.completed", response=response)
    return events


# -- embeddings ---------------------------------------------------------------------------

# The default size of each model's vectors; only text-embedding-3 models take `dimensions`.
EMBEDDING_SIZES = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
                   "text-embedding-ada-002": 1536}


def vector(text: str, size: int) -> list:
    """A deterministic stand-in for an embedding of `text`, exactly representable in float32."""
    seed = sum(text.encode()) % 97
    return [((seed + i) % 16) / 16 for i in range(size)]


def fake_embeddings(call: Call):
    body = call.body
    if not isinstance(body, dict):
        return error(400, "We could not parse the JSON body of your request.")
    for name in body:
        if name not in ("model", "input", "encoding_format", "dimensions", "user"):
            return error(400, f"Unrecognized request argument supplied: {name}")
    model, given = body.get("model"), body.get("input")
    if model not in EMBEDDING_SIZES:
        return error(404, f"The model `{model}` does not exist or you do not have access to "
                          "it.", code="model_not_found")
    inputs = [given] if isinstance(given, str) else given
    if not isinstance(inputs, list) or not inputs:
        return error(400, "'$.input' is invalid. Please check the API reference: "
                          "https://platform.openai.com/docs/api-reference.")
    size = EMBEDDING_SIZES[model]
    if body.get("dimensions") is not None:
        if not model.startswith("text-embedding-3"):
            return error(400, "This model does not support specifying dimensions.",
                         param="dimensions")
        size = body["dimensions"]
    data = []
    for i, item in enumerate(inputs):
        values = vector(item if isinstance(item, str) else json.dumps(item), size)
        if body.get("encoding_format") == "base64":
            values = base64.b64encode(struct.pack(f"<{size}f", *values)).decode()
        data.append({"object": "embedding", "index": i, "embedding": values})
    tokens = sum(max(1, len(str(item)) // 4) for item in inputs)
    return Reply(200, {"object": "list", "data": data, "model": model,
                       "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
