"""Anthropic's Messages API behind the OpenAI Chat Completions interface.

Requests go to `{base_url}/v1/messages` with `x-api-key` and `anthropic-version`
(https://docs.anthropic.com/en/api/versioning); the translation itself lives in
request and messages (OpenAI → Anthropic), response and stream (back).
"""
from __future__ import annotations

import json
from typing import Iterator

from ...errors import UpstreamError
from . import stream as anthropic_stream
from .request import build_body
from .response import ERROR_TYPES, completion_body
from ..base import (Adapter, ChatRequest, Completion, SSEEvent, StreamState, UpstreamRequest,
                    _json_or_none, classify_status, clean_message, retry_after_from_headers)

API_VERSION = "2023-06-01"


class AnthropicAdapter(Adapter):
    provider = "anthropic"

    def _headers(self, key) -> dict:
        return {"x-api-key": key.api_key, "anthropic-version": API_VERSION}

    def build_request(self, chat: ChatRequest, key) -> UpstreamRequest:
        body = build_body(chat.body, key.wire_model, chat.stream)
        return UpstreamRequest(
            url=f"{self.base_url(key)}/v1/messages",
            headers={**self._headers(key), "content-type": "application/json",
                     "accept": "text/event-stream" if chat.stream else "application/json"},
            body=json.dumps(body, ensure_ascii=False).encode())

    def parse_response(self, chat: ChatRequest, content: bytes) -> Completion:
        body, usage = completion_body(json.loads(content), chat.model)
        return Completion(body=body, usage=usage)

    def iter_chunks(self, chat: ChatRequest, events: Iterator[SSEEvent],
                    state: StreamState) -> Iterator[bytes]:
        return anthropic_stream.iter_chunks(chat.model, chat.include_usage, events, state)

    def probe_request(self, key) -> UpstreamRequest:
        return UpstreamRequest(url=f"{self.base_url(key)}/v1/models?limit=1", method="GET",
                               headers=self._headers(key))

    def parse_error(self, status: int, content: bytes, headers) -> UpstreamError:
        """Anthropic's {"type": "error", "error": {"type", "message"}} as OpenAI's envelope."""
        payload = _json_or_none(content)
        err = payload.get("error") if isinstance(payload, dict) else None
        err = err if isinstance(err, dict) else {}
        message = err.get("message") if isinstance(err.get("message"), str) else None
        kind = err.get("type") if isinstance(err.get("type"), str) else None
        type_, code, _ = ERROR_TYPES.get(kind, ("upstream_error", None, status))
        return UpstreamError(
            clean_message(message) or f"Upstream answered HTTP {status}.",
            status=status, type=type_, code=code, failure=classify_status(status),
            retry_after=retry_after_from_headers(headers) if status == 429 else None)
