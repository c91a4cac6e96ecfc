"""Noticing a client that hangs up while its request waits on the upstream.

A request thread blocks on the upstream (for the answer's head, a non-streamed body, or
a stream's next event); it learns that its client left only when it next writes, which a
model thinking for minutes may not let it do. One daemon thread watches the client
sockets of waiting requests (epoll, EPOLLRDHUP) and cuts the upstream connection of a
request whose client hung up, so its blocked read returns at once. Like nginx, a client
that half-closes its side counts as gone.
"""
from __future__ import annotations

import logging
import select
import threading

log = logging.getLogger(__name__)

_EVENTS = (getattr(select, "EPOLLRDHUP", 0) | getattr(select, "EPOLLHUP", 0)
           | getattr(select, "EPOLLERR", 0))


class Watch:
    """One client socket and how to cut its upstream connection when that client leaves."""

    __slots__ = ("fd", "cut", "fired")

    def __init__(self, fd: int, cut):
        self.fd, self.cut, self.fired = fd, cut, False


class HangupWatcher:
    """The epoll set of watched client sockets and the thread that waits on it."""

    def __init__(self):
        self._epoll = select.epoll()
        self._lock = threading.Lock()
        self._watches: dict[int, Watch] = {}
        threading.Thread(target=self._run, name="llm-proxy-hangup", daemon=True).start()

    def add(self, client_socket, cut) -> Watch | None:
        """Watch `client_socket` until discard(), calling `cut()` if the client leaves;
        None when it cannot be watched.

        The caller watches only while it blocks on the upstream, and discards right
        after, so that no stream is cut once it is done with its connection.
        """
        try:
            fd = client_socket.fileno()
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        watch = Watch(fd, cut)
        with self._lock:
            # A leftover entry means its socket was closed (epoll forgot it) and the
            # number reused: replace it.
            if self._watches.pop(fd, None) is not None:
                self._unregister(fd)
            try:
                self._epoll.register(fd, _EVENTS)
            except OSError:
                return None
            self._watches[fd] = watch
        return watch

    def discard(self, watch: Watch | None) -> None:
        if watch is None:
            return
        with self._lock:
            if self._watches.get(watch.fd) is watch:
                del self._watches[watch.fd]
                self._unregister(watch.fd)

    def _unregister(self, fd: int) -> None:
        try:
            self._epoll.unregister(fd)
        except OSError:
            pass  # closed already: epoll dropped it by itself

    def _run(self) -> None:
        while True:
            for fd, _mask in self._epoll.poll():
                self.event(fd)

    def event(self, fd: int) -> None:
        """Handle epoll's report of a hang-up on `fd`."""
        # Under the lock: once discard() has returned, this request's connection is never
        # touched again, so a connection back in the pool is safe.
        with self._lock:
            watch = self._watches.get(fd)
            # The report may be older than the watch: its client left, and its fd was
            # closed and reused by a new connection, watched now. Only the socket's state
            # at this moment counts.
            if watch is None or not _hung_up_now(fd):
                return
            del self._watches[fd]
            self._unregister(fd)
            watch.fired = True
            try:
                watch.cut()
            except Exception:  # nothing left to cut
                pass


def _hung_up_now(fd: int) -> bool:
    probe = select.poll()
    probe.register(fd, _POLL_EVENTS)
    return bool(probe.poll(0))


_POLL_EVENTS = (getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR
                | select.POLLNVAL)

_watcher: HangupWatcher | None = None
_watcher_lock = threading.Lock()


def watcher() -> HangupWatcher | None:
    """The process's watcher, started on first use; None where epoll does not exist."""
    global _watcher
    if _watcher is None and hasattr(select, "epoll"):
        with _watcher_lock:
            if _watcher is None:
                _watcher = HangupWatcher()
    return _watcher


def client_socket():
    """The socket of the client of the current request, when the server exposes it."""
    from flask import has_request_context, request
    if not has_request_context():
        return None
    environ = request.environ
    return environ.get("gunicorn.socket") or environ.get("werkzeug.socket")


def watch_client(cut) -> Watch | None:
    """Start watching the current request's client; None outside a request or without epoll."""
    hangups = watcher()
    client = client_socket() if hangups is not None else None
    return hangups.add(client, cut) if client is not None else None


def unwatch(watch: Watch | None) -> bool:
    """Stop watching; True when the client left meanwhile (and the cut was made)."""
    if watch is None:
        return False
    _watcher.discard(watch)
    return watch.fired
