"""gunicorn's gthread worker, keeping a busy keep-alive connection on its thread.

Stock gthread hands every kept-alive connection back to its event loop after each
request, and the next request travels loop → thread pool → loop again: two thread
handoffs, a pipe wake-up and selector changes per request, which in this single-process
proxy cost more CPU than Flask itself. This worker lets the thread wait a moment
(LINGER_SECONDS) for the client's next request on the same connection and serves it
directly; an idle connection still goes back to the event loop, and threads stay free
for new connections because a thread lingers only while most of the pool is idle.
"""
from __future__ import annotations

import select
import threading

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
