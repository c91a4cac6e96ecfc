"""A small real HTTP server on 127.0.0.1 that plays an LLM provider for tests.

Subclasses route requests in `handle(call)` and answer with Reply, Stream or Drop. Every
request is recorded (method, path, headers, parsed body, the key it carried), and faults
can be queued per API key: `fake.fail(key, Reply(429, ...), times=2)`.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs


@dataclass
class Call:
    method: str
    path: str
    query: dict
    headers: dict          # lower-cased names
    raw: bytes
    body: object           # parsed JSON, or None
    key: str | None = None  # the API key the request carried


@dataclass
class Reply:
    status: int = 200
    body: object = None    # dict/list → JSON; bytes/str sent as is
    headers: dict = field(default_factory=dict)
    delay: float = 0.0     # seconds before the status line


@dataclass
class Stream:
    """An SSE answer: each item of `events` is bytes or str written as one chunk."""
    events: list
    interval: float = 0.0
    first_delay: float = 0.0
    drop_after: int | None = None   # close the socket after this many events
    headers: dict = field(default_factory=dict)


@dataclass
class Drop:
    """Close the connection without answering (after `delay` seconds)."""
    delay: float = 0.0


def sse(data, event: str | None = None) -> bytes:
    """One SSE event; dicts are JSON-encoded."""
    if not isinstance(data, (str, bytes)):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + data + b"\n\n"


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 refuses connections under test concurrency,
    # which no real provider does.
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # Clients (the proxy) hanging up mid-answer is part of what the tests do.
        pass


class FakeUpstream:
    """Base fake: override `key_of(call)` and `handle(call)`."""

    def __init__(self):
        self.calls: list[Call] = []
        self.faults: dict[str, list] = {}
        self.lock = threading.Lock()
        self.open_streams = 0
        self.closed_early = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Head and body leave in separate writes; without TCP_NODELAY the body of a
            # reply on a kept-alive connection waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _serve(self):
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # -- configuration --------------------------------------------------------------------

    def fail(self, key: str, answer, times: int = 1) -> None:
        """Answer the next `times` requests made with `key` with `answer` (times=-1: always)."""
        with self.lock:
            self.faults.setdefault(key, []).append([answer, times])

    def clear_faults(self, key: str | None = None) -> None:
        with self.lock:
            if key is None:
                self.faults.clear()
            else:
                self.faults.pop(key, None)

    def keys_used(self, path_part: str = "") -> list:
        with self.lock:
            return [c.key for c in self.calls if path_part in c.path]

    # -- to override ----------------------------------------------------------------------

    def key_of(self, call: Call) -> str | None:
        auth = call.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def handle(self, call: Call):
        raise NotImplementedError

    # -- machinery ----------------------------------------------------------------------

    def _fault_for(self, key):
        with self.lock:
            queue = self.faults.get(key)
            if not queue:
                return None
            answer, times = queue[0]
            if times > 0:
                queue[0][1] -= 1
                if queue[0][1] == 0:
                    queue.pop(0)
            return answer

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        call = Call(h.command, parts.path, parse_qs(parts.query),
                    {k.lower(): v for k, v in h.headers.items()}, raw, body)
        call.key = self.key_of(call)
        with self.lock:
            self.calls.append(call)
        answer = self._fault_for(call.key) if call.key else None
        if answer is None:
            answer = self.handle(call)
        if callable(answer) and not isinstance(answer, (Reply, Stream, Drop)):
            answer = answer(call)
        self._write(h, answer)

    def _write(self, h, answer) -> None:
        if isinstance(answer, Drop):
            time.sleep(answer.delay)
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if isinstance(answer, Stream):
            self._write_stream(h, answer)
            return
        time.sleep(answer.delay)
        body = answer.body
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        elif body is None:
            body = b""
        try:
            h.send_response(answer.status)
            headers = {"Content-Type": "application/json", **answer.headers}
            for name, value in headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            h.close_connection = True

    def _write_stream(self, h, stream: Stream) -> None:
        with self.lock:
            self.open_streams += 1
        try:
            time.sleep(stream.first_delay)
            h.send_response(200)
            headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                       **stream.headers}
            for name, value in headers.items():
                h.send_header(name, value)
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            h.wfile.flush()
            for i, event in enumerate(stream.events):
                if stream.drop_after is not None and i >= stream.drop_after:
                    h.close_connection = True
                    h.connection.shutdown(socket.SHUT_RDWR)
                    return
                if i and stream.interval:
                    time.sleep(stream.interval)
                data = event.encode() if isinstance(event, str) else event
                h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                h.wfile.flush()
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        except OSError:
            with self.lock:
                self.closed_early += 1
            h.close_connection = True
        finally:
            with self.lock:
                self.open_streams -= 1
