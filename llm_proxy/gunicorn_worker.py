"""gunicorn's gthread worker, keeping a busy keep-alive connection on its thread.

Stock gthread hands every kept-alive connection back to its event loop after each
request, and the next request travels loop → thread pool → loop again: two thread
handoffs, a pipe wake-up and selector changes per request, which in this single-process
proxy cost more CPU than Flask itself. This worker lets the thread wait a moment
(LINGER_SECONDS) for the client's next request on the same connection and serves it
directly; an idle connection still goes back to the event loop, and threads stay free
for new connections because a thread lingers only while most of the pool is idle.
Responses also leave with their head and first piece of body in one write.

Both lean on gthread's internals (ThreadWorker.handle, wsgi.Response), which is why
requirements.txt pins gunicorn; `-k gthread` runs the stock worker.
"""
from __future__ import annotations

import select
import threading

from gunicorn.http import wsgi
from gunicorn.workers.gthread import ThreadWorker

# Long enough for a client that sends its next request as soon as it has read the
# answer; short enough that an idle thread is back in the pool almost at once.
LINGER_SECONDS = 0.005


class KeepAliveThreadWorker(ThreadWorker):
    """gthread, serving back-to-back requests of one connection on the same thread."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._busy = 0
        self._busy_lock = threading.Lock()

    def init_process(self):
        # gthread builds HTTP/1 responses through wsgi.create(), which looks the class
        # up by this name; the patch lives in this worker process only.
        wsgi.Response = OneWriteResponse
        super().init_process()

    def handle(self, conn):
        with self._busy_lock:
            self._busy += 1
        try:
            keepalive = super().handle(conn)
            while keepalive is True and self.alive and self._may_linger():
                # Bytes already read past the last request are the next one.
                if not conn.parser.unreader.buf.getvalue() and not _readable(conn.sock):
                    break
                keepalive = super().handle(conn)
            return keepalive
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _may_linger(self) -> bool:
        return self._busy * 4 < self.cfg.threads * 3


def _readable(sock) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(LINGER_SECONDS * 1000))


class _Capture:
    """A socket stand-in that keeps what is written to it."""

    def __init__(self):
        self.data = b""

    def sendall(self, data: bytes) -> None:
        self.data += data


class OneWriteResponse(wsgi.Response):
    """gunicorn's response, sending the head together with the first piece of body.

    Stock gunicorn writes the status line and headers, then each body piece: two writes
    for a small answer or a stream's first event, and the client is woken twice.
    """

    _head: bytes | None = None

    def send_headers(self):
        if self.headers_sent:
            return
        sock, self.sock = self.sock, _Capture()
        try:
            super().send_headers()
        finally:
            self._head, self.sock = self.sock.data, sock

    def _flush_head(self, tail: bytes = b"") -> None:
        head, self._head = self._head, None
        if head is not None or tail:
            self.sock.sendall((head or b"") + tail)

    def _emit_body(self, data):
        if self._head is None:
            return super()._emit_body(data)
        if self.chunked:
            data = b"%X\r\n%s\r\n" % (len(data), data)
        self._flush_head(data)

    def sendfile(self, respiter):
        self.send_headers()
        self._flush_head()
        return super().sendfile(respiter)

    def close(self):
        if not self.headers_sent:
            self.send_headers()
        if self._head is not None:
            self._flush_head(b"0\r\n\r\n" if self.chunked else b"")
            return
        super().close()
