"""A Gemini API request to a Gemini key: the body as sent, the answer as it came.

Only what Gemini must have is set: the key (in `x-goog-api-key`, never in the URL) and
the model in the URL, the key's own name for it. Where the body names the model too
(countTokens' `generateContentRequest`, each embedding request), that name follows. A
stream is relayed event by event, read only for its usage, an `error` event and the
finishReason that ends it (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent).
"""
from __future__ import annotations

import json
from typing import Iterator

from ...errors import StreamBroken, UpstreamError
from ...providers import adapter_for
from ...providers.base import StreamState, UpstreamRequest, _json_or_none
from ...providers.gemini.adapter import model_path
from ...providers.gemini.response import usage
from ...providers.gemini.stream import _broken
from ...sse import SSEEvent
from ..base import Answer, dumps
from .request import BATCH_EMBED, COUNT, EMBED, GeminiRequest


def _renamed(body: dict, method: str, path: str) -> dict:
    """`body` with the model it names (where it names one) set to `path`."""
    if method == COUNT and isinstance(body.get("generateContentRequest"), dict):
        return {**body, "generateContentRequest": {**body["generateContentRequest"],
                                                   "model": path}}
    if method == EMBED and "model" in body:
        return {**body, "model": path}
    if method == BATCH_EMBED:
        return {**body, "requests": [{**r, "model": path} if "model" in r else r
                                     for r in body["requests"]]}
    return body if "model" not in body else {**body, "model": path}


class GeminiRoute:
    """The operation's side for a Gemini key, for every method."""

    def __init__(self, req: GeminiRequest):
        self.req = req
        self.adapter = adapter_for("gemini")

    def upstream_request(self, lease) -> UpstreamRequest:
        req = self.req
        path = model_path(lease.wire_model)
        body = req.raw
        if lease.wire_model != req.model:  # the key serves the model under another name
            body = dumps(_renamed(req.body, req.method, path))
        upstream = self.adapter.method_request(lease, path, req.method, body)
        if req.stream:
            upstream.url += "?alt=sse"
            upstream.headers["Accept"] = "text/event-stream"
        return upstream

    def response_headers(self, lease) -> dict:
        return {}

    def answer(self, content: bytes) -> Answer:
        payload = json.loads(content)
        if not isinstance(payload, dict):
            raise ValueError("not a JSON object")
        return Answer(content, usage(payload))

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        for event in events:
            payload = _json_or_none(event.data)
            if not isinstance(payload, dict):
                raise StreamBroken("The upstream stream sent an event that is not a JSON "
                                   "object.")
            if "error" in payload:
                raise _broken(payload["error"])
            state.usage = usage(payload) or state.usage
            yield event.data
            if _finished(payload):
                state.finish_reason = "stop"
        if state.finish_reason is None:
            raise StreamBroken("The upstream stream ended before the answer was complete.")

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return self.adapter.parse_error(status, content, headers)


def _finished(payload: dict) -> bool:
    """Whether this piece ends the answer: a candidate's finishReason, or a blocked prompt."""
    feedback = payload.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        return True
    candidates = payload.get("candidates")
    return any(isinstance(c, dict) and c.get("finishReason")
               for c in (candidates if isinstance(candidates, list) else ()))
