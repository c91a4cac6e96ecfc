"""What a client format is to the attempt loop: an Operation per (format, provider) pair.

An operation builds the upstream request for a leased key, reads the answer, translates
the stream, and says how the client's stream is framed and ended; its ClientFormat
renders errors in that format's envelope. The loop (llm_proxy.attempts) knows nothing else
of formats, so a new client format is an operation module and a route.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..errors import ProxyError, UpstreamError
from ..providers.base import StreamState, UpstreamRequest
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
