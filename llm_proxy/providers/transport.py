"""HTTP to the upstreams: urllib3 connection pools per thread, requests where a proxy is set.

`requests.Session.request` spends about three times the CPU of the HTTP exchange itself
on per-call setup (merging settings, environment proxies, a netrc lookup, hooks, cookie
jars), and this proxy runs every request in one process. So the common case, an upstream
reached without an HTTP proxy, goes straight to a urllib3 connection pool; an upstream
behind HTTP(S)_PROXY keeps requests' full proxy handling. Pools are per thread, as the
requests maintainers advise for Sessions: a thread's upstream connections live and die
with it.
"""
from __future__ import annotations

import http.client
import os
import threading

import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies

from ..errors import UpstreamTimeout, UpstreamUnreachable

# What a broken or refused upstream exchange raises on either path.
TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, requests.exceptions.RequestException,
                    http.client.HTTPException, OSError)


class UpstreamResponse:
    """An upstream answer: status, headers (case-insensitive), body on demand, raw stream."""

    __slots__ = ("raw", "status_code", "headers", "_content")

    def __init__(self, raw: urllib3.BaseHTTPResponse):
        self.raw = raw
        self.status_code = raw.status
        self.headers = raw.headers
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = self.raw.read()
        return self._content

    def close(self) -> None:
        """Drop the connection, unless the body was read to its end (then it is reused)."""
        raw = self.raw
        if not raw.closed:
            raw.close()
        raw.release_conn()


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


class Transport:
    """This thread's pools, one per upstream origin."""

    def __init__(self):
        self.manager = urllib3.PoolManager(num_pools=32, maxsize=4, ca_certs=_ca_bundle())
        self.manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        self.pools: dict[str, urllib3.HTTPConnectionPool] = {}
        self.session: requests.Session | None = None


_local = threading.local()
_proxied: dict[str, bool] = {}
_timeouts: dict[tuple, urllib3.Timeout] = {}


def session() -> Transport:
    """This thread's transport, made on first use."""
    transport = getattr(_local, "transport", None)
    if transport is None:
        transport = _local.transport = Transport()
    return transport


def send(method: str, url: str, body: bytes | None, headers: dict, *,
         timeout: tuple[float, float]):
    """Send one request; the answer's body is left unread. Raises ProxyErrors only."""
    scheme, _, host, path = url.split("/", 3)
    origin = f"{scheme}//{host}"
    transport = session()
    try:
        if _behind_proxy(origin):
            if transport.session is None:
                transport.session = requests.Session()
            return transport.session.request(method, url, data=body, headers=headers,
                                             stream=True, timeout=timeout,
                                             allow_redirects=False)
        pool = transport.pools.get(origin)
        if pool is None:
            pool = transport.pools[origin] = transport.manager.connection_from_url(origin)
        raw = pool.urlopen(method, "/" + path, body=body, headers=headers,
                           timeout=_timeout(timeout), retries=False, redirect=False,
                           assert_same_host=False, preload_content=False)
        return UpstreamResponse(raw)
    except TRANSPORT_ERRORS as exc:
        raise _translate(exc, "The upstream provider could not be reached") from None
    except ValueError as exc:  # a URL urllib3 cannot use
        raise UpstreamUnreachable("The upstream provider could not be reached "
                                  f"({type(exc).__name__}).") from None


def read_body(resp) -> bytes:
    """The whole body of `resp`, or the ProxyError for a body that broke off."""
    try:
        return resp.content
    except TRANSPORT_ERRORS as exc:
        raise _translate(exc, "The upstream connection broke while answering") from None


def is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return False  # urllib3 files a refused connection under ConnectTimeoutError
    return isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError,
                            requests.exceptions.Timeout)) or "timed out" in str(exc).lower()


def _translate(exc: BaseException, what: str):
    if is_timeout(exc):
        return UpstreamTimeout()
    return UpstreamUnreachable(f"{what} ({reason(exc)}).")


def reason(exc: BaseException) -> str:
    """A short cause that never quotes the URL or the request."""
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "reset" in text or "aborted" in text:
        return "connection reset"
    if "name or service" in text or "resolve" in text:
        return "name not resolved"
    return type(exc).__name__


def _behind_proxy(origin: str) -> bool:
    """Whether the environment routes `origin` through a proxy (read once per origin)."""
    proxied = _proxied.get(origin)
    if proxied is None:
        scheme = origin.split(":", 1)[0].lower()
        proxied = _proxied[origin] = bool(get_environ_proxies(origin).get(scheme))
    return proxied


def _timeout(timeout: tuple[float, float]) -> urllib3.Timeout:
    value = _timeouts.get(timeout)
    if value is None:
        value = _timeouts[timeout] = urllib3.Timeout(connect=timeout[0], read=timeout[1])
    return value


def _ca_bundle() -> str:
    """requests' choice of CA bundle, so both paths trust the same authorities."""
    return (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            or DEFAULT_CA_BUNDLE_PATH)
