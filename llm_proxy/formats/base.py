"""What a client format is to the attempt loop: an Operation per (format, provider) pair.

An operation builds the upstream request for a leased key, reads the answer, translates
the stream, and says how the client's stream is framed and ended; its ClientFormat
renders errors in that format's envelope. The loop (llm_proxy.attempts) knows nothing else
of formats, so a new client format is an operation module and a route.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator

from ..errors import ProxyError, StreamBroken, UpstreamError
from ..providers.base import StreamState, UpstreamRequest, _json_or_none
from ..sse import SSEEvent


@dataclass(frozen=True, slots=True)
class Answer:
    """A non-streamed answer in the client's format, ready to send, and its token usage."""
    body: bytes
    usage: dict | None = None
    content_type: str = "application/json"


class ClientFormat:
    """A client format's framing and error envelope (one instance per format)."""

    name = "?"
    stream_content_type = "text/event-stream; charset=utf-8"

    def frame(self, payload: bytes) -> bytes:
        """One event of the client's stream carrying `payload`."""
        raise NotImplementedError

    def stream_end(self) -> bytes:
        """What a completed stream ends with (b"" when the last event says it all)."""
        return b""

    def stream_error(self, message: str) -> bytes:
        """The event that ends a stream which broke after it had started."""
        raise NotImplementedError

    def render_error(self, err: ProxyError) -> tuple[bytes, int, dict]:
        """(body, status, headers) of an error answer in this format's envelope."""
        raise NotImplementedError


def dumps(value) -> bytes:
    """`value` as UTF-8 JSON. Text with a lone surrogate (which JSON's \\ud800 escapes can
    carry) has no UTF-8 form: such a body keeps its escapes instead."""
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(value).encode()


def named_event(name: str, data: dict) -> bytes:
    """One stream payload of a NamedEventFormat: the event type, a newline, the JSON."""
    return name.encode() + b"\n" + dumps(data)


def typed_event(event: SSEEvent, read) -> tuple[str, dict | None]:
    """(type, parsed data) of an upstream event of a named-event stream; the data is parsed
    only for the types in `read` (and events without an `event:` line), the rest pass
    as bytes."""
    name = event.event
    if name is not None and name not in read:
        return name, None
    payload = _json_or_none(event.data)
    if not isinstance(payload, dict):
        raise StreamBroken("The upstream sent a stream event that is not a JSON object.")
    name = name or payload.get("type")
    if not isinstance(name, str) or not name:
        raise StreamBroken("The upstream sent a stream event without a type.")
    return name, payload


class NamedEventFormat(ClientFormat):
    """Streams whose events carry an `event:` line naming their type (Anthropic's, OpenAI
    Responses'); a payload is "<event type>\n<data>"."""

    def frame(self, payload: bytes) -> bytes:
        # Each line of the data needs its own "data: ".
        name, _, data = payload.partition(b"\n")
        lines = b"".join(b"data: " + line + b"\n" for line in data.split(b"\n"))
        return b"event: " + name + b"\n" + lines + b"\n"


class Operation:
    """One client request against the provider of the key each attempt leases."""

    client: ClientFormat
    model: str
    stream: bool

    def upstream_request(self, lease) -> UpstreamRequest | Answer:
        """The request for the leased key; a non-streamed operation may instead answer for
        that key itself with an Answer (a token count estimated locally, say)."""
        raise NotImplementedError

    def response_headers(self, lease) -> dict:
        """Headers the answer from the leased key carries (a parameter adjusted for it...)."""
        return {}

    def answer(self, content: bytes) -> Answer:
        """The client's answer for the upstream's whole body; ValueError when unreadable."""
        raise NotImplementedError

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        """The payloads of the client's stream, one per translated upstream event."""
        raise NotImplementedError

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        """The provider's error answer as an UpstreamError."""
        raise NotImplementedError
