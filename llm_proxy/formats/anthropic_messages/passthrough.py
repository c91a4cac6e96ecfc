"""A Messages request to an Anthropic key: the body as sent, the answer as it came.

The client's `anthropic-version` and `anthropic-beta` headers go along (the version is
required by the API, https://docs.anthropic.com/en/api/versioning, and set when the client
sent none); its credentials never do. Streams are relayed event by event, read only for
their usage (https://docs.anthropic.com/en/docs/build-with-claude/streaming) and for an
`error` event, which ends the stream as broken.
"""
from __future__ import annotations

import json
from typing import Iterator

from ... import loop_guard
from ...errors import LOOP, StreamBroken, UpstreamError
from ...providers import adapter_for
from ...providers.anthropic.adapter import API_VERSION
from ...providers.anthropic.response import openai_usage
from ...providers.anthropic.stream import _broken, _numbers
from ...providers.base import StreamState, UpstreamRequest
from ...providers.model_names import renamed, with_model
from ...sse import SSEEvent
from ..base import Answer, typed_event
from .request import MessagesRequest

MESSAGES_PATH = "/v1/messages"
COUNT_PATH = "/v1/messages/count_tokens"
# Events that may open a stream before anything of the answer: held back until the first
# one that is, so that an error right after them still moves the request to another key.
_PREAMBLE = {"message_start", "ping"}
_READ = {"message_start", "message_delta", "error"}


class AnthropicRoute:
    """The operation's side for an Anthropic key (Messages or count_tokens)."""

    def __init__(self, req: MessagesRequest, path: str = MESSAGES_PATH,
                 rename: bytes | None = None):
        self.req = req
        self.path = path
        self.rename = rename  # the client's model name (JSON) for an alias's answer

    def upstream_request(self, lease) -> UpstreamRequest:
        req = self.req
        url = adapter_for("anthropic").base_url(lease) + self.path
        if req.query:
            url += "?" + req.query
        headers = {"x-api-key": lease.api_key,
                   "anthropic-version": req.version or API_VERSION,
                   "content-type": "application/json",
                   "accept": "text/event-stream" if req.stream else "application/json"}
        if req.betas:
            headers["anthropic-beta"] = req.betas
        body = req.raw
        if lease.wire_model != req.model:  # the key serves the model under another name
            body = with_model(req.body, lease.wire_model)
        return UpstreamRequest(url=url, headers=headers, body=body)

    def response_headers(self, lease) -> dict:
        return {}

    def answer(self, content: bytes) -> Answer:
        payload = json.loads(content)
        if self.path == COUNT_PATH:
            if not isinstance(payload, dict) or not isinstance(payload.get("input_tokens"), int):
                raise ValueError("not a token count")
            return Answer(content)
        if not isinstance(payload, dict) or payload.get("type") != "message":
            raise ValueError("not an Anthropic message")
        if self.rename:
            content = renamed(content, self.rename)
        return Answer(content, openai_usage(payload.get("usage")))

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        usage: dict = {}
        held: list[bytes] = []
        for event in events:
            name, payload = typed_event(event, _READ)
            if name == "error":
                raise _broken(payload)
            if name in ("message_start", "message_delta"):
                message = payload.get("message") if name == "message_start" else payload
                if isinstance(message, dict):
                    usage.update(_numbers(message.get("usage")))
                    state.usage = openai_usage(usage)
            data = event.data
            if self.rename and name == "message_start":
                data = renamed(data, self.rename)
            out = name.encode() + b"\n" + data
            if name in _PREAMBLE and (held or name == "message_start"):
                held.append(out)
                continue
            yield from held
            held.clear()
            yield out
            if name == "message_stop":
                return
        raise StreamBroken("The upstream stream ended before the message was complete.")

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        err = adapter_for("anthropic").parse_error(status, content, headers)
        if status == 508 and loop_guard.ours(headers):
            err.failure = LOOP  # this proxy's own answer: the key's base_url leads back here
        return err

