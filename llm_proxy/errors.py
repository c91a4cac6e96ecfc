"""The one error tree of the proxy, rendered as OpenAI's error envelope in one place."""
from __future__ import annotations

import json
import logging
import math

from werkzeug.exceptions import HTTPException

from . import loop_guard

log = logging.getLogger(__name__)

# Why an attempt on a key failed: statistics, failover reasons and key health use these.
RATE_LIMITED = "rate_limited"
AUTH = "auth"
SERVER = "server_error"
NETWORK = "network"
TIMEOUT = "timeout"
BAD_REQUEST = "bad_request"
STREAM = "stream_broken"
LOOP = "loop"  # the key's base_url leads back to this proxy: useless until edited


class ProxyError(Exception):
    """Base of every error the proxy answers with; subclasses override class attributes."""

    status = 500
    type = "server_error"
    code: str | None = None
    message = "The proxy could not handle the request."

    def __init__(self, message: str | None = None, *, param: str | None = None,
                 code: str | None = None, status: int | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def headers(self) -> dict:
        return {}

    def envelope(self) -> dict:
        return {"error": {"message": self.message, "type": self.type,
                          "param": self.param, "code": self.code}}

    def to_json(self) -> bytes:
        return json.dumps(self.envelope()).encode()


class InvalidRequest(ProxyError):
    status = 400
    type = "invalid_request_error"
    message = "The request is invalid."


class Unauthorized(ProxyError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"
    message = "Missing or invalid bearer token."

    def headers(self) -> dict:
        return {"WWW-Authenticate": "Bearer"}


class NotFound(ProxyError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"
    message = "Not found."


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(ProxyError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class Conflict(ProxyError):
    status = 409
    type = "invalid_request_error"
    code = "conflict"


class PayloadTooLarge(ProxyError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"
    message = "The request body is larger than the proxy accepts."


# A provider's wait hint is followed up to a day: a broken header must not park a key for
# years, nor break the Retry-After the proxy answers with.
MAX_RETRY_AFTER = 86400.0


def bounded_wait(seconds) -> float | None:
    """`seconds` as a wait to act on, within [0, MAX_RETRY_AFTER]; None unless a finite number."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) \
            or not math.isfinite(seconds):
        return None
    return min(max(float(seconds), 0.0), MAX_RETRY_AFTER)


def retry_after_header(seconds) -> dict:
    """{"Retry-After": whole seconds, at least 1} for a usable wait, else nothing."""
    wait = bounded_wait(seconds)
    return {} if wait is None else {"Retry-After": str(max(1, math.ceil(wait)))}


class AllKeysCoolingDown(ProxyError):
    """No key of the model can serve now, and some will by waiting.

    `skipped` holds the pool's Skip values for the keys it passed over (llm_proxy.pool).
    """
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, retry_after: float, skipped: tuple = ()):
        super().__init__(message)
        self.retry_after = retry_after
        self.skipped = skipped

    def headers(self) -> dict:
        return retry_after_header(self.retry_after)


class NoUsableKey(ProxyError):
    """Every key of the model is invalid or disabled: nothing to try, nothing to wait for.

    `skipped` holds the pool's Skip values for the keys it passed over.
    """
    status = 503
    type = "server_error"
    code = "no_usable_key"

    def __init__(self, message: str | None = None, skipped: tuple = (), **kwargs):
        super().__init__(message, **kwargs)
        self.skipped = skipped


class SharedStateUnavailable(ProxyError):
    """Redis (the shared key pool) cannot be reached: requests are served, edits are not."""
    status = 503
    type = "server_error"
    code = "shared_state_unavailable"
    message = ("The shared key store (Redis) cannot be reached, so keys cannot be changed "
               "now; requests are still served. Try again when it is back.")


class LoopDetected(ProxyError):
    """A chat request this proxy sent itself: some key's base_url points back at it."""
    status = 508
    type = "invalid_request_error"
    code = "loop_detected"
    message = ("This proxy received its own upstream request back: a key's base_url leads "
               "back to the proxy. Fix that key's base_url.")

    def headers(self) -> dict:
        # Who detected it: only the proxy whose key loops marks that key.
        return {loop_guard.HEADER: loop_guard.INSTANCE_ID}


class ClientGone(ProxyError):
    """The client hung up while its answer was on the way (nginx's 499); nobody reads this."""
    status = 499
    type = "client_closed"
    code = "client_closed"
    message = "The client closed the connection."


class UpstreamError(ProxyError):
    """The provider answered with an error; `status` is the provider's own.

    `failure` says what the error means for the key (one of the kinds above);
    `retry_after` is the provider's hint, in seconds, for rate limits.
    """
    type = "upstream_error"

    def __init__(self, message: str, *, status: int, type: str | None = None,
                 code: str | None = None, param: str | None = None,
                 failure: str = BAD_REQUEST, retry_after: float | None = None):
        super().__init__(message, param=param, code=code, status=status)
        if type:
            self.type = type
        self.failure = failure
        self.retry_after = retry_after
        self.request_id: str | None = None  # the provider's id of the failed request

    def headers(self) -> dict:
        headers = retry_after_header(self.retry_after) if self.status == 429 else {}
        if self.request_id:
            headers["x-request-id"] = self.request_id
        return headers


class StreamBroken(UpstreamError):
    """The upstream's stream reported an error, or ended unfinished, after it had started."""

    def __init__(self, message: str, status: int = 502, type: str = "upstream_error"):
        super().__init__(message, status=status, type=type, failure=SERVER)


def classify_status(status: int) -> str:
    """What an upstream's error status means for the key that got it."""
    if status == 429:
        return RATE_LIMITED
    if status in (401, 403):
        return AUTH
    if status >= 500:  # Anthropic's 529 "overloaded" included
        return SERVER
    return BAD_REQUEST


class UpstreamUnreachable(ProxyError):
    failure = NETWORK
    retry_after = None
    status = 502
    type = "upstream_error"
    code = "upstream_unreachable"
    message = "The upstream provider could not be reached."


class UpstreamTimeout(ProxyError):
    failure = TIMEOUT
    retry_after = None
    status = 504
    type = "upstream_error"
    code = "upstream_timeout"
    message = "The upstream provider did not answer in time."


def from_http_exception(exc: HTTPException) -> ProxyError:
    """Translate Werkzeug's routing and body errors into the proxy's envelope."""
    if exc.code == 413:
        return PayloadTooLarge()
    if exc.code == 404:
        return NotFound("No such route.")
    if exc.code == 405:
        return MethodNotAllowed("Method not allowed for this route.")
    if exc.code is not None and 400 <= exc.code < 500:
        return InvalidRequest(exc.description or exc.name, status=exc.code)
    return ProxyError()


def init_app(app) -> None:
    """Register the single handler that renders every error, in the envelope of the client
    format the request speaks (OpenAI's where no route chose one)."""
    from . import formats

    def render(err: ProxyError):
        return formats.current().render_error(err)

    @app.errorhandler(ProxyError)
    def _proxy_error(err: ProxyError):
        return render(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        err = from_http_exception(exc)
        body, status, headers = render(err)
        if getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        return body, status, headers

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error: %s", type(exc).__name__)
        return render(ProxyError())
