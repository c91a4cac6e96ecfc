"""HTTP to the upstreams: one requests.Session per thread, and the one exception boundary.

Every failure of an exchange, in the call or in reading its body (whole or streamed),
leaves this module as a ProxyError chosen by the types in the exception's chain.

The requests maintainers advise a Session per thread, so each worker thread keeps its
own, with its own kept-alive upstream connections. `Session.request` spends most of its
CPU on per-call setup this proxy does not need (environment proxies and a netrc lookup
on every call, cookie merging, settings merging): the environment is read once per
upstream origin instead, requests are prepared directly and given to `Session.send`.
"""
from __future__ import annotations

import http.client
import http.cookiejar
import os
import socket
import ssl
import threading
from typing import Iterator

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies

from . import loop_guard
from .errors import ClientGone, UpstreamTimeout, UpstreamUnreachable
from .hangup import client_socket, unwatch, watcher

# What a broken or refused upstream exchange raises.
TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, requests.exceptions.RequestException,
                    http.client.HTTPException, OSError)


class _OneWrite:
    """Connection mixin: a request's head and body leave in one write, not two.

    urllib3 writes them separately, and each write wakes the upstream's reader: measured
    0.3 ms per request against a local upstream. Requests without a body are left as
    they are.
    """

    _held = b""
    _holding = False
    _join_body = False

    def request(self, method, url, body=None, headers=None, **kwargs):
        in_flight = getattr(_local, "in_flight", None)
        if in_flight is not None:
            in_flight.conn = self
            if in_flight.cancelled:  # the client left before there was a connection to cut
                raise ConnectionAbortedError("the client left")
        self._join_body = body is not None
        super().request(method, url, body=body, headers=headers, **kwargs)

    def endheaders(self, message_body=None, *, encode_chunked=False):
        self._holding = self._join_body
        try:
            super().endheaders(message_body, encode_chunked=encode_chunked)
        finally:
            self._holding = False

    def send(self, data):
        if self._holding:
            self._held += data
            return
        if self._held:
            data, self._held = self._held + data, b""
        super().send(data)

    def getresponse(self):
        in_flight = getattr(_local, "in_flight", None)
        if in_flight is not None and in_flight.cancelled:
            # Cut while the connection was still being made: there was no socket to shut.
            raise ConnectionAbortedError("the client left")
        if self._held:  # a body that turned out empty: the head alone
            held, self._held = self._held, b""
            super().send(held)
        return super().getresponse()


class _HTTPConnection(_OneWrite, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_OneWrite, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _OneWriteAdapter(HTTPAdapter):
    """requests' transport adapter over connection pools that send head and body together."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Upstream cookies are never kept: one key's cookies must not ride along with another's."""

    def set_ok(self, cookie, request):
        return False


_local = threading.local()
_proxies: dict[str, dict] = {}


class InFlight:
    """The connection the calling thread's next upstream request goes out on, so that
    another thread (the hang-up watcher) can cut it while the request waits."""

    __slots__ = ("conn", "cancelled")

    def __init__(self):
        self.conn = None
        self.cancelled = False

    def cut(self) -> None:
        # Flag first, then look: the request thread records its connection first, then
        # looks at the flag, so one of the two always sees the other.
        self.cancelled = True
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


def track() -> InFlight:
    """Note the connection of this thread's upstream requests until untrack()."""
    in_flight = _local.in_flight = InFlight()
    return in_flight


def untrack() -> None:
    _local.in_flight = None


def session() -> requests.Session:
    """This thread's Session, made on first use."""
    sess = getattr(_local, "session", None)
    if sess is None:
        sess = _local.session = requests.Session()
        sess.trust_env = False  # read once per origin in _proxies_for, not per call
        sess.verify = _ca_bundle()
        sess.cookies.set_policy(_NoCookies())
        adapter = _OneWriteAdapter(pool_connections=32, pool_maxsize=4, max_retries=0)
        sess.mount("http://", adapter)
        sess.mount("https://", adapter)
    return sess


def send(method: str, url: str, body: bytes | None, headers: dict, *,
         timeout: tuple[float, float]) -> requests.Response:
    """Send one request; the answer's body is left unread. Raises ProxyErrors only."""
    try:
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, data=body,
                         headers={**headers, loop_guard.HEADER: loop_guard.outgoing()})
        return session().send(prepared, stream=True, timeout=timeout, allow_redirects=False,
                              proxies=_proxies_for(url))
    except TRANSPORT_ERRORS as exc:
        raise translate(exc, "The upstream provider could not be reached") from None
    except ValueError as exc:  # a URL that cannot be used
        raise UpstreamUnreachable("The upstream provider could not be reached "
                                  f"({type(exc).__name__}).") from None


def read_body(resp) -> bytes:
    """The whole body of `resp`, or the ProxyError for a body that broke off."""
    try:
        return resp.content
    except TRANSPORT_ERRORS as exc:
        raise translate(exc, "The upstream connection broke while answering") from None


READ_SIZE = 65536


def iter_body(resp) -> Iterator[bytes]:
    """Yield body bytes as soon as the socket has them (read1: no waiting for a full buffer).

    Raises ProxyErrors only: UpstreamTimeout or UpstreamUnreachable for a body that stops
    or breaks, and ClientGone when, inside a request, the client hangs up meanwhile (each
    read watches it, and the upstream is closed at once).
    """
    raw = resp.raw
    # The proxy asks for no compression; a server that compresses anyway is decoded here
    # (decoding costs a buffer copy per read, so only then).
    decode = bool(resp.headers.get("content-encoding"))
    hangups = watcher()
    client = client_socket() if hangups is not None else None
    while True:
        # raw.shutdown() is urllib3's way to unblock a read from another thread.
        watch = hangups.add(client, raw.shutdown) if client is not None else None
        try:
            data = raw.read1(READ_SIZE, decode_content=True) if decode else raw.read1(READ_SIZE)
        except Exception as exc:  # noqa: BLE001 - this is the boundary: any read failure
            if unwatch(watch):
                resp.close()
                raise ClientGone() from None
            raise translate(exc, "The upstream connection broke while streaming") from None
        if unwatch(watch):
            resp.close()
            raise ClientGone()
        if not data:
            return
        yield data


# How long a finished stream may take to send the rest of its body (after [DONE] or
# message_stop) before its connection is dropped instead of reused.
DRAIN_TIMEOUT = 2.0


def release(resp) -> None:
    """Read what is left of a finished body and return the connection to the pool."""
    raw = resp.raw
    try:
        sock = getattr(raw.connection, "sock", None)
        if sock is not None:
            sock.settimeout(DRAIN_TIMEOUT)
        raw.drain_conn()
        if raw.isclosed():
            raw.release_conn()
            return
    except Exception:  # noqa: BLE001 - any doubt about the connection: drop it
        pass
    resp.close()


def translate(exc: BaseException, what: str):
    """The ProxyError for a failed exchange, by the types in the exception's chain."""
    causes = list(_causes(exc))
    # urllib3 files a refused connection under ConnectTimeoutError: a connection that
    # could not be made is no timeout, whatever class it carries.
    if not any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in causes) and \
            any(isinstance(c, _TIMEOUTS) for c in causes):
        return UpstreamTimeout()
    return UpstreamUnreachable(f"{what} ({reason(causes)}).")


_TIMEOUTS = (TimeoutError, socket.timeout, urllib3.exceptions.TimeoutError,
             requests.exceptions.Timeout)
# A short cause by type; never the URL or the request, which str(exc) may quote.
_REASONS = ((ConnectionRefusedError, "connection refused"),
            ((ConnectionResetError, ConnectionAbortedError, BrokenPipeError),
             "connection reset"),
            ((socket.gaierror, urllib3.exceptions.NameResolutionError), "name not resolved"),
            ((urllib3.exceptions.IncompleteRead, http.client.IncompleteRead),
             "answer cut short"),
            (ssl.SSLError, "TLS failed"))


def reason(causes: list) -> str:
    for types, text in _REASONS:
        if any(isinstance(c, types) for c in causes):
            return text
    return type(causes[0]).__name__


def _causes(exc: BaseException):
    """`exc` and what it wraps: causes, contexts, urllib3's `reason`, requests' args."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen or len(seen) > 16:
            continue
        seen.add(id(current))
        yield current
        for inner in (current.__cause__, current.__context__,
                      getattr(current, "reason", None),
                      *(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))):
            if isinstance(inner, BaseException):
                todo.append(inner)


def _proxies_for(url: str) -> dict:
    """HTTP(S)_PROXY / NO_PROXY for the URL's origin, read from the environment once."""
    scheme, _, host = url.split("/", 3)[:3]
    origin = f"{scheme}//{host}"
    proxies = _proxies.get(origin)
    if proxies is None:
        proxies = _proxies[origin] = get_environ_proxies(origin)
    return proxies


def _ca_bundle() -> str:
    """The CA bundle requests would pick with trust_env on."""
    return (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            or DEFAULT_CA_BUNDLE_PATH)
