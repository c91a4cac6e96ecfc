"""OpenAI Chat Completions as a client format: request parsing, framing, envelope, operation.

The operation's provider side is the provider's adapter (llm_proxy.providers), which
speaks OpenAI chat on one side and its own wire format on the other; for OpenAI-style
providers it passes the body through as sent.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Iterator

from flask import request

from ..errors import InvalidRequest, ProxyError, UpstreamError
from ..providers import adapter_for
from ..providers.base import ChatRequest, StreamState, UpstreamRequest
from ..providers.model_names import answer_name
from ..request_body import read_body
from ..sse import SSEEvent
from .base import Answer, ClientFormat, Operation


class ChatFormat(ClientFormat):
    name = "openai-chat"

    def frame(self, payload: bytes) -> bytes:
        # Each line of an event needs its own "data: " (an upstream event may span several).
        if b"\n" in payload:
            return b"".join(b"data: " + line + b"\n" for line in payload.split(b"\n")) + b"\n"
        return b"data: " + payload + b"\n\n"

    def stream_end(self) -> bytes:
        return b"data: [DONE]\n\n"

    def stream_error(self, message: str) -> bytes:
        payload = {"error": {"message": message, "type": "upstream_error",
                             "param": None, "code": "stream_broken"}}
        return b"data: " + json.dumps(payload).encode() + b"\n\n"

    def render_error(self, err: ProxyError) -> tuple[bytes, int, dict]:
        return openai_error(err)


def openai_error(err: ProxyError) -> tuple[bytes, int, dict]:
    """`err` in OpenAI's envelope, which every OpenAI API shares."""
    return err.to_json(), err.status, {"Content-Type": "application/json", **err.headers()}


CHAT = ChatFormat()


class ChatOperation(Operation):
    """An OpenAI chat request through the adapter of the leased key's provider."""

    client = CHAT

    def __init__(self, chat: ChatRequest):
        self.request = self.chat = chat
        self.model = chat.model
        self.stream = chat.stream
        self._adapter = None

    def _for(self, provider: str):
        adapter = self._adapter
        if adapter is None or adapter.provider != provider:
            adapter = self._adapter = adapter_for(provider)
        return adapter

    def upstream_request(self, lease) -> UpstreamRequest:
        # The attempt's view of the request: the model is the one this key serves (one of
        # a fallback list), and an alias's answer is given the client's name back.
        chat, rename = self.request, answer_name(lease)
        if lease.model != chat.model or rename:
            chat = replace(chat, model=lease.model, answer_model=rename)
        self.chat = chat
        return self._for(lease.provider).build_request(chat, lease)

    def answer(self, content: bytes) -> Answer:
        completion = self._adapter.parse_response(self.chat, content)
        return Answer(completion.body, completion.usage)

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        return self._adapter.iter_chunks(self.chat, events, state)

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return self._adapter.parse_error(status, content, headers)


def parse_chat_request() -> ChatRequest:
    """The request body as a validated ChatRequest, or InvalidRequest naming the problem."""
    body, raw = read_json_object()
    model = read_model(body)
    messages = required(body, "messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array.", param="messages",
                             code="invalid_type")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"'messages[{i}]' must be an object.", param=f"messages[{i}]",
                                 code="invalid_type")
        if not isinstance(message.get("role"), str):
            raise InvalidRequest(f"'messages[{i}].role' must be a string.",
                                 param=f"messages[{i}].role", code="invalid_type")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be a boolean.", param="stream", code="invalid_type")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InvalidRequest("'stream_options' must be an object.", param="stream_options",
                             code="invalid_type")
    include_usage = bool(options and options.get("include_usage") is True)
    return ChatRequest(body=body, raw=raw, model=model, stream=stream,
                       include_usage=include_usage)


def required(body: dict, name: str):
    """`body[name]`, or OpenAI's 400 for a missing required parameter."""
    value = body.get(name)
    if value is None:
        raise InvalidRequest(f"Missing required parameter: '{name}'.", param=name,
                             code="missing_required_parameter")
    return value


def read_model(body: dict) -> str:
    """The request's `model`: a non-empty string, else OpenAI's 400 naming it."""
    model = required(body, "model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("'model' must be a non-empty string.", param="model",
                             code="invalid_type")
    return model


def read_json_object() -> tuple[dict, bytes]:
    """(parsed body, raw bytes) of a JSON-object request body, or InvalidRequest."""
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise InvalidRequest(f"Content-Type must be application/json, got '{mimetype}'.",
                             code="invalid_content_type")
    raw = read_body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    return body, raw
