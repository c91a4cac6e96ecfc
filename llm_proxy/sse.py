"""Reading Server-Sent Events from an upstream response as the bytes arrive."""
from __future__ import annotations

from typing import Iterator

from .errors import ClientGone
from .hangup import client_socket, unwatch, watcher
from .providers.base import SSEEvent

READ_SIZE = 65536


def iter_raw(response) -> Iterator[bytes]:
    """Yield body bytes as soon as the socket has them (read1: no waiting for a full buffer).

    Started inside a request, each read also watches that request's client: when the
    client hangs up, the upstream is closed at once and ClientGone raised.
    """
    raw = response.raw
    # The proxy asks for no compression; a server that compresses anyway is decoded here
    # (decoding costs a buffer copy per read, so only then).
    decode = bool(response.headers.get("content-encoding"))
    hangups = watcher()
    client = client_socket() if hangups is not None else None
    while True:
        # raw.shutdown() is urllib3's way to unblock a read from another thread.
        watch = hangups.add(client, raw.shutdown) if client is not None else None
        try:
            data = raw.read1(READ_SIZE, decode_content=True) if decode else raw.read1(READ_SIZE)
        except Exception:
            if unwatch(watch):
                response.close()
                raise ClientGone() from None
            raise
        if unwatch(watch):
            response.close()
            raise ClientGone()
        if not data:
            return
        yield data


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
