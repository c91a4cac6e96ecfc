"""A Responses request to a key whose API speaks it: the body as sent, the answer as it came.

OpenAI, xAI (https://docs.x.ai/docs/api-reference#create-new-response) and OpenAI-style
servers serve `{base_url}/responses`. Only the model is changed, when the key serves the
model under another name. Streams are relayed event by event, read only for the usage of
the final response and for an `error` or `response.failed` event, which ends the stream as
broken (https://platform.openai.com/docs/api-reference/responses-streaming).
"""
from __future__ import annotations

import json
from typing import Iterator

from ...errors import StreamBroken, UpstreamError
from ...providers import adapter_for
from ...providers.base import StreamState, UpstreamRequest, clean_message
from ...providers.model_names import renamed, with_model
from ...sse import SSEEvent
from ..base import Answer, typed_event
from .request import ResponsesRequest
from .usage import chat_usage

# Events that may open a stream before anything of the answer: held back until the first
# one that is, so that an error right after them still moves the request to another key.
_PREAMBLE = {"response.created", "response.in_progress", "response.queued"}
# The events that end a stream: the response, whole or cut short by its own limits.
_FINAL = {"response.completed", "response.incomplete"}
_READ = _FINAL | {"error", "response.failed"}


class PassthroughRoute:
    """The operation's side for an OpenAI-style key."""

    def __init__(self, req: ResponsesRequest, provider: str, path: str = "/responses",
                 rename: bytes | None = None):
        self.req = req
        self.adapter = adapter_for(provider)
        self.path = path
        self.rename = rename  # the client's model name (JSON) for an alias's answer

    def upstream_request(self, lease) -> UpstreamRequest:
        req = self.req
        body = req.raw
        if lease.wire_model != req.model:  # the key serves the model under another name
            body = with_model(req.body, lease.wire_model)
        return UpstreamRequest(
            url=self.adapter.base_url(lease) + self.path,
            headers={"Authorization": f"Bearer {lease.api_key}",
                     "Content-Type": "application/json",
                     "Accept": "text/event-stream" if req.stream else "application/json"},
            body=body)

    def response_headers(self, lease) -> dict:
        return {}

    def answer(self, content: bytes) -> Answer:
        payload = json.loads(content)
        if not isinstance(payload, dict) or payload.get("object") != "response":
            raise ValueError("not a response object")
        if self.rename:
            content = renamed(content, self.rename)
        return Answer(content, chat_usage(payload.get("usage")))

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        held: list[bytes] = []
        for event in events:
            name, payload = typed_event(event, _READ)
            if name in ("error", "response.failed"):
                raise StreamBroken(_failure_message(payload))
            if name in _FINAL:
                response = payload.get("response")
                if isinstance(response, dict):
                    state.usage = chat_usage(response.get("usage"))
            data = event.data
            if self.rename and b'"model"' in data:
                data = renamed(data, self.rename)
            out = name.encode() + b"\n" + data
            if name in _PREAMBLE:
                held.append(out)
                continue
            yield from held
            held.clear()
            yield out
            if name in _FINAL:
                return
        raise StreamBroken("The upstream stream ended before the response was complete.")

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return self.adapter.parse_error(status, content, headers)


def _failure_message(payload: dict) -> str:
    """The message of an `error` event, or of a failed response's `error`."""
    error = payload
    if isinstance(payload.get("response"), dict):
        error = payload["response"].get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return clean_message(message) if isinstance(message, str) and message else \
        "The upstream stream reported an error."
