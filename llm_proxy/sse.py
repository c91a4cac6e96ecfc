"""Server-Sent Events: parsing an upstream's byte stream into events as the bytes arrive."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str | None
    data: bytes


def iter_events(chunks: Iterator[bytes]) -> Iterator[SSEEvent]:
    """Parse an SSE byte stream into events (WHATWG rules; `id` and `retry` are ignored)."""
    buffer = b""
    event: str | None = None
    data: list[bytes] = []
    for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk:
            continue
        # Providers end lines with LF or CRLF; a lone CR as line end is not handled.
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield SSEEvent(event, b"\n".join(data))
                event, data = None, []
                continue
            if line.startswith(b":"):
                continue  # comment / keep-alive
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event = value.decode("utf-8", "replace")
    if buffer.strip():
        line = buffer.rstrip(b"\r\n")
        name, _, value = line.partition(b":")
        if name == b"data":
            data.append(value[1:] if value.startswith(b" ") else value)
    if data:
        yield SSEEvent(event, b"\n".join(data))
