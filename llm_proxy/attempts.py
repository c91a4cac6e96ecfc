"""The attempt loop: one client request through the pool, failing over between keys.

A request tries the model's keys in rotation order, each at most once and at most
MAX_ATTEMPTS of them, until one answers: acquire a lease, run the operation, report the
outcome, then fail over or answer. Failover happens only before the first byte reaches
the client; a stream that breaks later ends with the client format's error event. The
loop knows operations (llm_proxy.formats) and the pool's interface, nothing of formats.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import NamedTuple

from flask import Response

from .activity.record import Attempt
from .errors import (BAD_REQUEST, STREAM, AllKeysCoolingDown, ClientGone, ModelNotFound,
                     NoUsableKey, ProxyError, UpstreamError, UpstreamTimeout, classify_status)
from .fallbacks import models_of
from .formats.base import Answer
from .hangup import unwatch, watch_client
from .metrics import NullMetrics
from .pool import CLIENT_GONE, NOT_SENT, OK, Lease, Outcome
from .providers.base import StreamState
from .providers.upstream_headers import request_id_of
from .redaction import clean_message
from .sse import iter_events
from .transport import iter_body, read_body, release, send, track, untrack

log = logging.getLogger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SERVED_MODEL_HEADER = "x-llm-proxy-model"
SERVED_KEY_HEADER = "x-llm-proxy-key"
# A translation bug is the proxy's, not the key's: counted, never a health change.
PROXY_FAULT = "proxy_error"
# How long past a key's recovery a waiting request looks again.
WAKE_MARGIN = 0.01
# A request's error kind (in its record) when every key of the model was cooling down.
ALL_COOLING = "all_keys_cooling"


class AttemptLoop:
    def __init__(self, pool, *, max_attempts: int, connect_timeout: float,
                 read_timeout: float, metrics=None, activity=None, fallbacks=None,
                 max_wait: float = 0.0):
        self.pool = pool
        self.fallbacks = fallbacks or {}  # MODEL_FALLBACKS: alias → models in order
        self.max_wait = max_wait  # MAX_WAIT_SECONDS
        self.metrics = metrics if metrics is not None else NullMetrics()
        self.activity = activity
        self.max_attempts = max_attempts
        self.timeout = (connect_timeout, read_timeout)

    def serve(self, op) -> Response:
        """Serve `op` from the first key that answers; raise the last error otherwise.

        A request naming fallbacks (a comma-separated model, a MODEL_FALLBACKS alias)
        tries each model in turn, each with the attempt budget of a request of its own,
        the next only when no key of the one before could serve.
        """
        started = time.perf_counter()
        trail = _Trail(op.model)
        deadline = started + self.max_wait if self.max_wait > 0 else None
        models = models_of(op.model, self.fallbacks)
        if models is None:
            return self._serve_model(op, trail, started, deadline)
        while True:
            failures: list[_Exhausted] = []
            for model in models:
                op.model = model  # logs, metrics and records name the model tried
                try:
                    return self._serve_model(op, trail, started, None, failures.append)
                except _Skipped:
                    continue
            worst = _most_telling(failures)
            # Every model refused without a call, the first to recover soon enough: wait
            # for it, then go through the list again (an earlier model may be back first).
            if not (all(f.lease is None for f in failures)
                    and self._waited(op, worst.error, deadline, trail, started)):
                break
        op.model = worst.model
        if worst.lease is None:
            self._record_refused(op, trail, worst.error, started,
                                 known_model=not isinstance(worst.error, ModelNotFound))
        else:
            self._log_request(op, worst.lease, worst.error.status, trail, started,
                              request_id=getattr(worst.error, "request_id", None),
                              error=getattr(worst.error, "failure", BAD_REQUEST))
        raise worst.error

    def _serve_model(self, op, trail: "_Trail", started: float, deadline: float | None,
                     exhausted=None) -> Response:
        """Serve `op` from the keys of `op.model`. When none could serve, the error is
        raised, or with `exhausted` (a fallback list) handed to it and _Skipped raised,
        the request's end being the caller's to log. Until `deadline` (perf_counter), a
        first acquire finding every key cooling waits for the first to recover."""
        tried: set[str] = set()
        last_error: ProxyError | None = None
        lease: Lease | None = None
        for _ in range(self.max_attempts):
            previous = lease
            try:
                lease = self.pool.acquire(op.model, tried)
            except AllKeysCoolingDown as err:
                if self._waited(op, err, deadline, trail, started):
                    lease = self._acquire_after_wait(op, tried, trail, started, deadline)
                else:
                    lease = self._exhausted_model(op, trail, started, err, previous is None,
                                                  exhausted)
            except NoUsableKey as err:
                lease = self._exhausted_model(op, trail, started, err, previous is None,
                                              exhausted)
            except ModelNotFound as err:
                if exhausted is not None:
                    exhausted(_Exhausted(op.model, err, None))
                    raise _Skipped() from None
                self._record_refused(op, trail, err, started, known_model=False)
                raise
            if lease is None:
                lease = previous
                break
            if lease.skipped:
                trail.skip(lease.skipped)
            if previous is not None:
                self._log_failover(op, previous, lease, last_error)
            tried.add(lease.id)
            try:
                upstream = op.upstream_request(lease)
            except ProxyError as err:
                # Refused before any upstream call (a parameter this provider cannot take):
                # nothing happened to the key, so nothing of it changes or is named.
                self._report(trail, lease, Outcome(NOT_SENT))
                self._log_request(op, None, err.status, trail, started, error=BAD_REQUEST)
                raise
            try:
                if op.stream:
                    return self._stream(op, lease, upstream, started, trail)
                return self._complete(op, lease, upstream, started, trail)
            except ClientGone:
                # Not the key's doing: it counts as served, and nobody is left to answer.
                self._report(trail, lease, Outcome(CLIENT_GONE))
                self._log_request(op, lease, ClientGone.status, trail, started,
                                  "client_closed", error=CLIENT_GONE)
                raise
            except ProxyError as err:
                if isinstance(err, UpstreamError):
                    # Providers echo the key they were sent, in any form.
                    err.message = clean_message(err.message, (lease.api_key,)) or err.message
                failure = getattr(err, "failure", BAD_REQUEST)
                self._report(trail, lease, Outcome(failure, message=err.message,
                                                   retry_after=getattr(err, "retry_after",
                                                                       None)))
                if failure == BAD_REQUEST:
                    # About the request: no other key, and no other model, would do better.
                    self._log_request(op, lease, err.status, trail, started,
                                      request_id=getattr(err, "request_id", None),
                                      error=BAD_REQUEST)
                    raise
                last_error = err
            except Exception:
                # A translation bug: count it against the attempt so the key's statistics
                # still add up, and answer the generic envelope.
                self._report(trail, lease, Outcome(PROXY_FAULT, message="internal error"))
                self._log_request(op, lease, 500, trail, started, error=PROXY_FAULT)
                raise
        return self._model_failed(op, trail, started, lease, last_error, exhausted)

    def _exhausted_model(self, op, trail: "_Trail", started: float, err: ProxyError,
                         first: bool, exhausted) -> None:
        """A later acquire found no usable key: None, to answer the last attempt's error.
        A first one: the model's refusal, raised (or handed to `exhausted`)."""
        trail.skip(err.skipped)
        if not first:
            return None  # the keys not tried yet cannot serve: answer the last error
        if exhausted is not None:
            exhausted(_Exhausted(op.model, err, None))
            raise _Skipped() from None
        self._record_refused(op, trail, err, started)
        raise err

    def _acquire_after_wait(self, op, tried: set, trail: "_Trail", started: float,
                            deadline: float | None) -> Lease | None:
        """A lease of the model after waiting, waiting again while the deadline allows
        (another request may have taken the recovered key's turn)."""
        while True:
            try:
                return self.pool.acquire(op.model, tried)
            except AllKeysCoolingDown as err:
                if not self._waited(op, err, deadline, trail, started):
                    return self._exhausted_model(op, trail, started, err, not tried, None)

    def _waited(self, op, err: ProxyError, deadline: float | None, trail: "_Trail",
                started: float) -> bool:
        """Wait out `err`'s Retry-After when the request's MAX_WAIT_SECONDS allows it:
        True once waited, False when it does not fit. A client that leaves meanwhile is let
        go at once (ClientGone), no upstream call made for it."""
        wait = getattr(err, "retry_after", None)
        if deadline is None or not isinstance(err, AllKeysCoolingDown) or wait is None:
            return False
        # A moment past the recovery: the key's cooldown has ended when the pool looks.
        wait += WAKE_MARGIN
        if time.perf_counter() + wait > deadline:
            return False
        left = threading.Event()
        watch = watch_client(left.set)
        try:
            gone = left.wait(wait)
        finally:
            gone = unwatch(watch) or gone
        if gone:
            self._log_request(op, None, ClientGone.status, trail, started, "client_closed",
                              error=CLIENT_GONE)
            raise ClientGone()
        return True

    def _model_failed(self, op, trail: "_Trail", started: float, lease: Lease,
                      last_error: ProxyError | None, exhausted) -> Response:
        """Every attempt at the model failed over: its last error, raised (or handed to
        `exhausted`)."""
        assert last_error is not None
        if last_error.status == 429:
            # The last key's own hint (or none) is not when the model can serve again.
            wait = self.pool.soonest_recovery(op.model)
            if wait is not None:
                last_error.retry_after = wait
        if exhausted is not None:
            exhausted(_Exhausted(op.model, last_error, lease))
            raise _Skipped()
        self._log_request(op, lease, last_error.status, trail, started,
                          request_id=getattr(last_error, "request_id", None),
                          error=getattr(last_error, "failure", BAD_REQUEST))
        raise last_error

    def _report(self, trail: "_Trail", lease: Lease, outcome: Outcome) -> None:
        """Tell the pool what became of the attempt, and note it for the record."""
        self.pool.report(lease, outcome)
        trail.attempts.append(Attempt(lease.id, lease.provider, outcome.kind))
        if outcome.usage is not None:
            trail.usage = outcome.usage

    # -- one attempt ----------------------------------------------------------------------

    def _complete(self, op, lease: Lease, upstream, started: float, trail) -> Response:
        if isinstance(upstream, Answer):  # the operation answers for this key itself
            return self._answered(op, lease, upstream, started, trail, None)
        sent_at = time.perf_counter()
        with _ClientWatched() as watched:
            resp = send(upstream.method, upstream.url, upstream.body, upstream.headers,
                        timeout=self.timeout)
            self.metrics.upstream_latency(lease.provider, op.model, time.perf_counter() - sent_at)
            content = read_body(resp)
        if watched.left:
            raise ClientGone()
        request_id = request_id_of(resp.headers)
        if resp.status_code >= 400:
            raise _upstream_error(op, resp, content, request_id)
        try:
            answer = op.answer(content)
        except Exception as exc:
            if not isinstance(exc, (ValueError, KeyError, TypeError, RecursionError)):
                log.exception("answer translation failed model=%s key=%s", op.model, lease.id)
            # Another key's upstream may answer properly.
            raise UpstreamError("The upstream answered with a body that is not a valid "
                                "answer in its format.", status=502,
                                failure="server_error") from None
        return self._answered(op, lease, answer, started, trail, request_id)

    def _answered(self, op, lease: Lease, answer: Answer, started: float, trail,
                  request_id: str | None) -> Response:
        self._report(trail, lease, Outcome(OK, usage=answer.usage))
        self._log_request(op, lease, 200, trail, started, request_id=request_id)
        return Response(answer.body, 200, content_type=answer.content_type,
                        headers=_served_headers(op, lease, request_id))

    def _stream(self, op, lease: Lease, upstream, started: float, trail) -> Response:
        sent_at = time.perf_counter()
        with _ClientWatched() as watched:  # until the head; iter_body watches the body
            resp = send(upstream.method, upstream.url, upstream.body, upstream.headers,
                        timeout=self.timeout)
        if watched.left:
            resp.close()
            raise ClientGone()
        request_id = request_id_of(resp.headers)
        if resp.status_code >= 400:
            try:
                content = read_body(resp)
            except ProxyError:  # the error body itself broke: the status says enough
                content = b""
            raise _upstream_error(op, resp, content, request_id)
        state = StreamState()
        payloads = op.stream_payloads(iter_events(iter_body(resp)), state)
        # Wait for the first payload before answering: until then a failure can still
        # move to another key, and the client has seen nothing.
        try:
            first = next(payloads)
        except StopIteration:
            resp.close()
            raise UpstreamError("The upstream stream ended before any data.", status=502,
                                failure=STREAM) from None
        except ClientGone:
            raise
        except ProxyError:
            resp.close()
            raise
        except Exception:  # an event the translation cannot read: another key may do better
            resp.close()
            log.exception("stream translation failed model=%s key=%s", op.model, lease.id)
            raise UpstreamError("The proxy could not read the upstream stream.", status=502,
                                failure="server_error") from None
        self.metrics.first_byte(lease.provider, op.model, time.perf_counter() - sent_at)
        relay = _Relay(self, op, lease, resp, state, started, trail, request_id)
        headers = {**SSE_HEADERS, **_served_headers(op, lease, request_id)}
        return Response(relay.body(first, payloads), 200,
                        content_type=op.client.stream_content_type, headers=headers)

    # -- logging ------------------------------------------------------------------------

    def _log_failover(self, op, from_lease: Lease, to_lease: Lease, err) -> None:
        reason = getattr(err, "failure", "error")
        self.metrics.failover(reason)
        log.warning("failover model=%s from_key=%s to_key=%s reason=%s status=%s",
                    op.model, from_lease.id, to_lease.id, reason, getattr(err, "status", None))

    def _log_request(self, op, lease, status, trail, started, outcome=None,
                     request_id=None, error=None) -> None:
        """The request's end: its metrics, its log line and its record, from one place."""
        seconds = time.perf_counter() - started
        provider = lease.provider if lease else "-"
        client_format = op.client.name
        self.metrics.request_finished(provider, op.model, status, op.stream, seconds,
                                      client_format)
        if log.isEnabledFor(logging.INFO):
            log.info("request model=%s provider=%s key=%s status=%s attempts=%d "
                     "latency_ms=%.1f stream=%s format=%s%s%s", op.model, provider,
                     lease.id if lease else "-", status, len(trail.attempts),
                     seconds * 1000, "true" if op.stream else "false", client_format,
                     f" outcome={outcome}" if outcome else "",
                     f" request_id={request_id}" if request_id else "")
        if self.activity is not None:
            served = lease if error is None or error == CLIENT_GONE else None
            self.activity.request(
                time=trail.wall, client_format=client_format,
                model=trail.asked, tried_model=op.model, stream=op.stream, status=status,
                error=error,
                seconds=seconds, attempts=trail.attempts, skipped=trail.skipped,
                served=served, usage=trail.usage, request_id=request_id, known_model=True)

    def _record_refused(self, op, trail, err: ProxyError, started: float,
                        known_model: bool = True) -> None:
        """A request no key was tried for (unknown model, every key cooling or unusable):
        recorded, but not a request that reached an upstream for the metrics."""
        if self.activity is None:
            return
        self.activity.request(
            time=trail.wall, client_format=op.client.name, model=trail.asked,
            tried_model=op.model, stream=op.stream,
            status=err.status, error=_refusal_kind(err), seconds=time.perf_counter() - started,
            attempts=trail.attempts, skipped=trail.skipped, served=None, usage=None,
            request_id=None, known_model=known_model)


class _Skipped(Exception):
    """No key of one model of a fallback list could serve: on to the next model."""


class _Exhausted(NamedTuple):
    """How one model of a fallback list failed: its error, and the last key tried (None
    when none was: every key cooling, unusable, or no such model)."""
    model: str
    error: ProxyError
    lease: Lease | None


def _most_telling(failures: list) -> _Exhausted:
    """The failure a fallback request answers with when no model could serve: a 429 with
    the soonest Retry-After when one was waiting on rate limits (waiting helps), else the
    last upstream's error, else the last refusal (keys unusable, or no such model)."""
    limited = [f for f in failures if f.error.status == 429]
    if limited:
        return min(limited, key=lambda f: f.error.retry_after
                   if f.error.retry_after is not None else float("inf"))
    attempted = [f for f in failures if f.lease is not None]
    if attempted:
        return attempted[-1]
    unusable = [f for f in failures if isinstance(f.error, NoUsableKey)]
    return unusable[-1] if unusable else failures[-1]


class _Trail:
    """One request's way through the pool, for its record: when it came, each attempt's
    key and outcome, the keys passed over (Skip values) and the tokens last reported."""

    __slots__ = ("wall", "asked", "attempts", "skipped", "usage")

    def __init__(self, asked: str):
        self.wall = time.time()
        self.asked = asked  # the model as the client named it (a fallback list, an alias)
        self.attempts: list[Attempt] = []
        self.skipped: tuple = ()
        self.usage: dict | None = None

    def skip(self, skipped: tuple) -> None:
        self.skipped = self.skipped + skipped if self.skipped else skipped


def _refusal_kind(err: ProxyError) -> str:
    if isinstance(err, AllKeysCoolingDown):
        return ALL_COOLING
    if isinstance(err, NoUsableKey):
        return NoUsableKey.code
    return err.code or "error"


class _Relay:
    """One answered stream on its way to the client, and its report at the end."""

    def __init__(self, loop: AttemptLoop, op, lease: Lease, resp, state: StreamState,
                 started: float, trail: _Trail, request_id: str | None):
        self.loop, self.op, self.lease, self.resp, self.state = loop, op, lease, resp, state
        self.started, self.trail, self.request_id = started, trail, request_id

    def body(self, first: bytes, payloads):
        """The client's stream: forwarded payload by payload, closing the upstream at the end."""
        op, frame = self.op, self.op.client.frame
        outcome = "client_closed"
        message = "stream broke mid-way"
        try:
            yield frame(first)
            for payload in payloads:
                yield frame(payload)
            # Counted before the end goes out: a client that reads the statistics right
            # after its stream ended finds this stream in them.
            outcome = "ok"
            self._finish(Outcome(OK, usage=self.state.usage), 200)
            end = op.client.stream_end()
            if end:
                yield end
        except ClientGone:
            pass  # the outcome stays client_closed
        except ProxyError as err:
            outcome = "broken"
            message = _mid_stream_message(err)
            yield op.client.stream_error(clean_message(message, (self.lease.api_key,)))
        except Exception:  # a translation bug must not leave the client hanging
            outcome = "broken"
            log.exception("stream translation failed model=%s key=%s", op.model, self.lease.id)
            yield op.client.stream_error("The proxy could not translate the upstream stream.")
        finally:
            # A finished stream hands its connection back for reuse (no new TLS handshake
            # for the next request); any other end drops it at once, also when the client
            # went away (the server closes this generator on a failed write).
            if outcome == "ok":
                release(self.resp)
            else:
                self.resp.close()
            if outcome == "broken":
                self._finish(Outcome(STREAM, usage=self.state.usage, message=message), 502,
                             outcome, STREAM)
            elif outcome == "client_closed":
                self._finish(Outcome(CLIENT_GONE, usage=self.state.usage), 200, outcome,
                             CLIENT_GONE)

    def _finish(self, result: Outcome, status: int, outcome: str | None = "ok",
                error: str | None = None) -> None:
        self.loop._report(self.trail, self.lease, result)
        self.loop._log_request(self.op, self.lease, status, self.trail, self.started,
                               outcome, self.request_id, error)


def _served_headers(op, lease: Lease, request_id: str | None) -> dict:
    """What every served answer says of where it went: the model (by its client name) and
    the key's id, so a client can tell which pool member answered without admin access."""
    headers = {SERVED_MODEL_HEADER: lease.model, SERVED_KEY_HEADER: lease.id,
               **op.response_headers(lease)}
    if request_id:
        headers["x-request-id"] = request_id
    return headers


def _mid_stream_message(err: ProxyError) -> str:
    if isinstance(err, UpstreamTimeout):
        return "The upstream timed out mid-stream."
    if isinstance(err, UpstreamError):
        return err.message
    return "The upstream connection broke mid-stream."


class _ClientWatched:
    """Cuts the upstream call in the block if the client hangs up meanwhile.

    Without it a client that gave up (its own timeout, say) would hold a thread, and the
    upstream would go on generating, until the upstream answered, up to UPSTREAM_TIMEOUT.
    The failure the cut causes becomes ClientGone; after a block that ended normally,
    `left` says whether the client is gone.
    """

    __slots__ = ("watch", "left")

    def __enter__(self):
        self.watch = watch_client(track().cut)
        return self

    def __exit__(self, exc_type, exc, tb):
        untrack()
        self.left = unwatch(self.watch)
        if self.left and exc_type is not None and issubclass(exc_type, ProxyError):
            raise ClientGone() from None
        return False


def _upstream_error(op, resp, content: bytes, request_id: str | None) -> UpstreamError:
    """The provider's error answer as an UpstreamError, whatever shape its body has."""
    status = resp.status_code
    try:
        err = op.upstream_error(status, content, resp.headers)
    except Exception:
        log.exception("error translation failed status=%s", status)
        err = UpstreamError(f"Upstream answered HTTP {status}.", status=status,
                            failure=classify_status(status))
    err.request_id = request_id
    return err
