"""Forwarder: one chat request through the pool, failing over between keys.

A request tries the model's keys in rotation order, each at most once and at most
MAX_ATTEMPTS of them, until one answers. Failover happens only before the first byte
reaches the client; a stream that breaks later ends with an OpenAI-style error event.
"""
from __future__ import annotations

import json
import logging
import time

from flask import Response

from .errors import (BAD_REQUEST, STREAM, ClientGone, ProxyError, UpstreamError,
                     UpstreamTimeout, UpstreamUnreachable)
from .key_pool import Key, KeyPool
from .metrics import NullMetrics
from .providers import adapter_for
from .providers.base import (ChatRequest, StreamBroken, StreamState, classify_status,
                             clean_message, request_id_of)
from .hangup import unwatch, watch_client
from .providers.transport import TRANSPORT_ERRORS, is_timeout, release, track, untrack
from .sse import iter_events, iter_raw

log = logging.getLogger(__name__)


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Forwarder:
    def __init__(self, pool: KeyPool, *, max_attempts: int, connect_timeout: float,
                 read_timeout: float, metrics=None):
        self.pool = pool
        self.metrics = metrics if metrics is not None else NullMetrics()
        self.max_attempts = max_attempts
        self.timeout = (connect_timeout, read_timeout)

    def handle(self, chat: ChatRequest) -> Response:
        """Serve `chat` from the first key that answers; raise the last error otherwise."""
        started = time.perf_counter()
        tried: set[str] = set()
        last_error: ProxyError | None = None
        key: Key | None = None
        for attempt in range(1, self.max_attempts + 1):
            previous = key
            key = self.pool.acquire(chat.model, tried)
            if key is None:
                key = previous
                break
            if previous is not None:
                self._log_failover(chat, previous, key, last_error)
            tried.add(key.id)
            # The key as this attempt sends it. An edit from here on (a new secret or URL)
            # neither mixes into the request nor lets its failure mark the edited key, and
            # the secret sent is the one masked in what comes back.
            sent = self.pool.snapshot(key)
            try:
                if chat.stream:
                    response = self._stream(chat, key, sent, started, attempt)
                else:
                    response = self._complete(chat, key, sent, started, attempt)
            except ClientGone:
                # Not the key's doing: it counts as served, and nobody is left to answer.
                self.pool.record_success(key)
                self._log_request(chat, key, ClientGone.status, attempt, started,
                                  "client_closed")
                raise
            except ProxyError as err:
                if isinstance(err, UpstreamError):
                    # Providers echo the key they were sent, in any form.
                    err.message = clean_message(err.message, (sent.api_key,)) or err.message
                failure = getattr(err, "failure", BAD_REQUEST)
                self.pool.record_failure(key, failure, message=err.message,
                                         retry_after=getattr(err, "retry_after", None),
                                         generation=sent.generation, secret=sent.api_key)
                if failure == BAD_REQUEST:
                    self._log_request(chat, key, err.status, attempt, started,
                                      request_id=getattr(err, "request_id", None))
                    raise
                last_error = err
                continue
            except Exception:
                # A translation bug: count it against the attempt so the key's statistics
                # still add up, and answer the generic envelope.
                self.pool.record_failure(key, "proxy_error", message="internal error")
                self._log_request(chat, key, 500, attempt, started)
                raise
            return response
        assert last_error is not None
        if last_error.status == 429:
            # The last key's own hint (or none) is not when the model can serve again.
            wait = self.pool.soonest_recovery(chat.model)
            if wait is not None:
                last_error.retry_after = wait
        self._log_request(chat, key, last_error.status, len(tried), started,
                          request_id=getattr(last_error, "request_id", None))
        raise last_error

    # -- one attempt ----------------------------------------------------------------------

    def _complete(self, chat: ChatRequest, key: Key, sent: Key, started: float,
                  attempt: int) -> Response:
        adapter = adapter_for(key.provider)
        upstream = adapter.build_request(chat, sent)
        sent_at = time.perf_counter()
        with _ClientWatched() as watched:
            resp = adapter.send(upstream, stream=False, timeout=self.timeout)
            self.metrics.upstream_latency(key.provider, chat.model, time.perf_counter() - sent_at)
            content = adapter.read_body(resp)
        if watched.left:
            raise ClientGone()
        request_id = request_id_of(resp.headers)
        if resp.status_code >= 400:
            raise _upstream_error(adapter, resp, content, request_id)
        try:
            completion = adapter.parse_response(chat, content)
        except Exception as exc:
            if not isinstance(exc, (ValueError, KeyError, TypeError, RecursionError)):
                log.exception("answer translation failed model=%s key=%s", chat.model, key.id)
            # Another key's upstream may answer properly.
            raise UpstreamError("The upstream answered with a body that is not a valid "
                                "chat completion.", status=502, failure="server_error") from None
        self.pool.record_success(key, completion.usage)
        self._log_request(chat, key, 200, attempt, started, request_id=request_id)
        return Response(completion.body, 200, content_type="application/json",
                        headers={"x-request-id": request_id} if request_id else None)

    def _stream(self, chat: ChatRequest, key: Key, sent: Key, started: float,
                attempt: int) -> Response:
        adapter = adapter_for(key.provider)
        upstream = adapter.build_request(chat, sent)
        sent_at = time.perf_counter()
        with _ClientWatched() as watched:  # until the head; iter_raw watches the body
            resp = adapter.send(upstream, stream=True, timeout=self.timeout)
        if watched.left:
            resp.close()
            raise ClientGone()
        request_id = request_id_of(resp.headers)
        if resp.status_code >= 400:
            try:
                content = adapter.read_body(resp)
            except ProxyError:  # the error body itself broke: the status says enough
                content = b""
            raise _upstream_error(adapter, resp, content, request_id)
        state = StreamState()
        chunks = adapter.iter_chunks(chat, iter_events(iter_raw(resp)), state)
        # Wait for the first chunk before answering: until then a failure can still
        # move to another key, and the client has seen nothing.
        try:
            first = next(chunks)
        except StopIteration:
            resp.close()
            raise UpstreamError("The upstream stream ended before any data.", status=502,
                                failure=STREAM) from None
        except StreamBroken as exc:
            resp.close()
            raise UpstreamError(exc.message, status=exc.status, failure="server_error") from None
        except TRANSPORT_ERRORS as exc:
            resp.close()
            if is_timeout(exc):
                raise UpstreamTimeout() from None
            raise UpstreamUnreachable("The upstream stream broke before any data.") from None
        except ClientGone:
            raise
        except Exception:  # an event the translation cannot read: another key may do better
            resp.close()
            log.exception("stream translation failed model=%s key=%s", chat.model, key.id)
            raise UpstreamError("The proxy could not read the upstream stream.", status=502,
                                failure="server_error") from None
        self.metrics.first_byte(key.provider, chat.model, time.perf_counter() - sent_at)
        body = self._relay(chat, key, sent.api_key, resp, first, chunks, state, started,
                           attempt, request_id)
        headers = {**SSE_HEADERS, "x-request-id": request_id} if request_id else SSE_HEADERS
        return Response(body, 200, content_type="text/event-stream; charset=utf-8",
                        headers=headers)

    def _relay(self, chat, key, secret, resp, first, chunks, state, started, attempt,
               request_id):
        """The client's SSE body: forwarded chunk by chunk, closing the upstream at the end."""
        outcome = "client_closed"
        message = "stream broke mid-way"
        try:
            yield _event(first)
            for payload in chunks:
                yield _event(payload)
            # Counted before [DONE] goes out: a client that reads the statistics right
            # after its stream ended finds this stream in them.
            outcome = "ok"
            self.pool.record_success(key, state.usage)
            self._log_request(chat, key, 200, attempt, started, outcome, request_id)
            yield b"data: [DONE]\n\n"
        except ClientGone:
            pass  # the outcome stays client_closed
        except (StreamBroken, *TRANSPORT_ERRORS) as exc:
            outcome = "broken"
            message = exc.message if isinstance(exc, StreamBroken) else (
                "The upstream timed out mid-stream." if is_timeout(exc)
                else "The upstream connection broke mid-stream.")
            yield _error_event(message, secret)
        except Exception:  # a translation bug must not leave the client hanging
            outcome = "broken"
            log.exception("stream translation failed model=%s key=%s", chat.model, key.id)
            yield _error_event("The proxy could not translate the upstream stream.", secret)
        finally:
            # A finished stream hands its connection back for reuse (no new TLS handshake
            # for the next request); any other end drops it at once, also when the client
            # went away (the server closes this generator on a failed write).
            if outcome == "ok":
                release(resp)
            else:
                resp.close()
            if outcome == "broken":
                self.pool.record_failure(key, STREAM, message=message, secret=secret)
                self.pool.add_usage(key, state.usage)
                self._log_request(chat, key, 502, attempt, started, outcome, request_id)
            elif outcome == "client_closed":
                self.pool.record_success(key, state.usage)
                self._log_request(chat, key, 200, attempt, started, outcome, request_id)

    # -- logging ------------------------------------------------------------------------

    def _log_failover(self, chat, from_key: Key, to_key: Key, err) -> None:
        reason = getattr(err, "failure", "error")
        self.metrics.failover(reason)
        log.warning("failover model=%s from_key=%s to_key=%s reason=%s status=%s",
                    chat.model, from_key.id, to_key.id, reason,
                    getattr(err, "status", None))

    def _log_request(self, chat, key, status, attempts, started, outcome=None,
                     request_id=None) -> None:
        seconds = time.perf_counter() - started
        provider = key.provider if key else "-"
        self.metrics.request_finished(provider, chat.model, status, chat.stream, seconds)
        if log.isEnabledFor(logging.INFO):
            log.info("request model=%s provider=%s key=%s status=%s attempts=%d "
                     "latency_ms=%.1f stream=%s%s%s", chat.model, provider,
                     key.id if key else "-", status, attempts, seconds * 1000,
                     "true" if chat.stream else "false",
                     f" outcome={outcome}" if outcome else "",
                     f" request_id={request_id}" if request_id else "")


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


def _event(payload: bytes) -> bytes:
    """One SSE event carrying `payload`; each of its lines needs its own "data: "."""
    if b"\n" in payload:  # an upstream event spread over several data: lines
        return b"".join(b"data: " + line + b"\n" for line in payload.split(b"\n")) + b"\n"
    return b"data: " + payload + b"\n\n"


def _upstream_error(adapter, resp, content: bytes, request_id: str | None) -> UpstreamError:
    """The provider's error answer as an UpstreamError, whatever shape its body has."""
    status = resp.status_code
    try:
        err = adapter.parse_error(status, content, resp.headers)
    except Exception:
        log.exception("error translation failed status=%s", status)
        err = UpstreamError(f"Upstream answered HTTP {status}.", status=status,
                            failure=classify_status(status))
    err.request_id = request_id
    return err


def _error_event(message: str, secret: str) -> bytes:
    """An OpenAI-style error event; the secret sent is masked even in odd formats."""
    payload = {"error": {"message": clean_message(message, (secret,)),
                         "type": "upstream_error",
                         "param": None, "code": "stream_broken"}}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"
