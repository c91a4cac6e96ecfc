"""The interface every provider adapter implements, and the values it passes."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterator

from .. import loop_guard
from ..errors import BAD_REQUEST, LOOP, StreamBroken, UpstreamError, classify_status
from ..redaction import clean_message
from ..sse import SSEEvent
from . import DEFAULT_BASE_URLS
from .upstream_headers import parse_duration, retry_after_from_headers

# Read by the provider modules from here, with the interface they implement.
__all__ = ["Adapter", "ChatRequest", "Completion", "SSEEvent", "StreamBroken", "StreamState",
           "UpstreamRequest", "classify_status", "clean_message", "parse_duration",
           "retry_after_from_headers", "_json_or_none"]


@dataclass
class ChatRequest:
    """A validated client request: the parsed body (never mutated) and its raw bytes."""
    body: dict
    raw: bytes
    model: str
    stream: bool
    include_usage: bool = False
    # Set per attempt when the key serves the model under another upstream name: the
    # client's name (JSON) that the passthrough answer's "model" is given back.
    answer_model: bytes | None = None


@dataclass
class UpstreamRequest:
    url: str
    headers: dict
    body: bytes | None = None
    method: str = "POST"


@dataclass
class Completion:
    """A non-streamed answer in the client's format, ready to send, and its token usage."""
    body: bytes
    usage: dict | None = None


@dataclass
class StreamState:
    """What an adapter learns while translating a stream (read by the caller at the end)."""
    usage: dict | None = None
    finish_reason: str | None = None
    extra: dict = field(default_factory=dict)


class Adapter:
    """One provider's wire format behind OpenAI chat; every method is a pure transform.

    `key` is the attempt's Lease (provider, base_url, api_key, ...).
    """

    provider = "openai"

    def base_url(self, key) -> str:
        return (key.base_url or DEFAULT_BASE_URLS[key.provider] or "").rstrip("/")

    def build_request(self, chat: ChatRequest, key) -> UpstreamRequest:
        raise NotImplementedError

    def parse_response(self, chat: ChatRequest, content: bytes) -> Completion:
        raise NotImplementedError

    def iter_chunks(self, chat: ChatRequest, events: Iterator[SSEEvent],
                    state: StreamState) -> Iterator[bytes]:
        """Yield the JSON of each OpenAI `chat.completion.chunk` (no SSE framing, no [DONE])."""
        raise NotImplementedError

    def probe_request(self, key) -> UpstreamRequest:
        """The cheapest call that proves a key works."""
        raise NotImplementedError

    def parse_error(self, status: int, content: bytes, headers) -> UpstreamError:
        """The provider's error answer as an UpstreamError with `failure` and `retry_after`."""
        payload = _json_or_none(content)
        message, type_, code, param = _openai_error_fields(payload)
        failure = classify_status(status)
        if status == 508 and code == "loop_detected":
            # This proxy's own answer marks its key (it points back here). Another proxy's
            # is about the request's path, which a client's header can shape: no key state.
            failure = LOOP if loop_guard.ours(headers) else BAD_REQUEST
        return UpstreamError(
            clean_message(message) or f"Upstream answered HTTP {status}.",
            status=status, type=type_, code=code, param=param, failure=failure,
            retry_after=retry_after_from_headers(headers) if status == 429 else None)


def _json_or_none(content: bytes):
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _openai_error_fields(payload) -> tuple:
    """(message, type, code, param) from an OpenAI-style error body, tolerant of variants."""
    if not isinstance(payload, dict):
        return None, None, None, None
    err = payload.get("error", payload)
    if isinstance(err, str):
        return err, None, None, None
    if not isinstance(err, dict):
        return None, None, None, None
    code = err.get("code")
    return (err.get("message") if isinstance(err.get("message"), str) else None,
            err.get("type") if isinstance(err.get("type"), str) else None,
            str(code) if code is not None else None,
            err.get("param") if isinstance(err.get("param"), str) else None)
