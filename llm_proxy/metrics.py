"""Prometheus metrics of the proxy: one registry per app, served as text on /metrics.

Counters and histograms are updated on the request path, so their labelled children are
cached per label tuple (one dict lookup instead of prometheus_client's lock and label
checks). Key states are counted at scrape time, which costs the hot path nothing.

Under gunicorn with several workers (the shared pool), gunicorn.conf.py turns on
prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR): every worker writes its
values to files there, and a scrape answered by any worker sums them all.
"""
from __future__ import annotations

import os

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# The `_created` timestamp series double the scrape and tell nothing a restart does not.
disable_created_metrics()

# From a fast local model (milliseconds) to a long generation (minutes).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                   60.0, 120.0, 300.0, 600.0)

# The client routes answered from the key pool, and the client format each speaks.
CLIENT_PATHS = {"/chat/completions": "openai-chat", "/v1/chat/completions": "openai-chat",
                "/v1/messages": "anthropic-messages",
                "/v1/messages/count_tokens": "anthropic-messages",
                "/responses": "openai-responses", "/v1/responses": "openai-responses",
                "/embeddings": "openai-embeddings", "/v1/embeddings": "openai-embeddings"}

# Gemini's routes name their model: /v1beta/models/{model}:{method} (and /v1/...).
GEMINI_PREFIXES = ("/v1beta/models/", "/v1/models/")


def gemini_format(path) -> str | None:
    """"gemini" for a call of a model's method in Gemini's API, else None."""
    if path and ":" in path and path.startswith(GEMINI_PREFIXES):
        return "gemini"
    return None


def status_class(status: int) -> str:
    """'2xx', '4xx', '5xx' … from an HTTP status."""
    return f"{status // 100}xx"


class Metrics:
    """The proxy's metrics in their own registry, so several apps in one process coexist."""

    def __init__(self, pool=None):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._requests = Counter(
            "llm_proxy_requests", "Client requests sent to an upstream, by outcome and "
            "client format.", ["provider", "model", "status_class", "stream", "format"],
            registry=r)
        self._responses = Counter(
            "llm_proxy_responses", "Answers to client requests, including those refused "
            "before any upstream call (bad body, token, unknown model, all keys cooling).",
            ["status_class", "format"], registry=r)
        self._upstream = Histogram(
            "llm_proxy_upstream_latency_seconds", "Time until the upstream's whole "
            "answer, per non-streamed attempt that got one.",
            ["provider", "model"], buckets=LATENCY_BUCKETS, registry=r)
        self._first_byte = Histogram(
            "llm_proxy_stream_first_byte_seconds", "Time from sending a streamed request "
            "upstream until its first chunk was ready for the client.",
            ["provider", "model"], buckets=LATENCY_BUCKETS, registry=r)
        self._failovers = Counter(
            "llm_proxy_failovers", "Attempts moved to another key, by why the previous "
            "one failed.", ["reason"], registry=r)
        self._in_flight = Gauge(
            "llm_proxy_requests_in_flight", "Client requests being answered now (open "
            "streams included).", registry=r, multiprocess_mode="livesum")
        self._pool_collectors = [KeyStateCollector(pool), SharedStateCollector(pool)] \
            if pool is not None else []
        for collector in self._pool_collectors:
            r.register(collector)
        self._children: dict = {}

    # -- hot path ---------------------------------------------------------------------

    def _child(self, metric, labels: tuple):
        cache_key = (id(metric), labels)
        child = self._children.get(cache_key)
        if child is None:
            child = self._children[cache_key] = metric.labels(*labels)
        return child

    def request_started(self) -> None:
        self._in_flight.inc()

    def response_sent(self, status: int, client_format: str) -> None:
        """A client request answered (any outcome); ends its in-flight count."""
        self._in_flight.dec()
        self._child(self._responses, (status_class(status), client_format)).inc()

    def request_finished(self, provider: str, model: str, status: int, streamed: bool,
                         seconds: float, client_format: str) -> None:
        labels = (provider, model, status_class(status), "true" if streamed else "false",
                  client_format)
        self._child(self._requests, labels).inc()

    def upstream_latency(self, provider: str, model: str, seconds: float) -> None:
        self._child(self._upstream, (provider, model)).observe(seconds)

    def first_byte(self, provider: str, model: str, seconds: float) -> None:
        self._child(self._first_byte, (provider, model)).observe(seconds)

    def failover(self, reason: str) -> None:
        self._child(self._failovers, (reason,)).inc()

    # -- exposition -------------------------------------------------------------------

    def render(self) -> bytes:
        """Prometheus text exposition of every metric of this app (of every worker)."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        from prometheus_client import multiprocess
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for collector in self._pool_collectors:  # pool-wide already: read once, not summed
            registry.register(collector)
        return generate_latest(registry)

    def wrap_wsgi(self, wsgi_app):
        """WSGI middleware counting client requests in flight until their body is closed."""
        started, sent = self.request_started, self.response_sent

        def app(environ, start_response):
            path = environ.get("PATH_INFO")
            client_format = CLIENT_PATHS.get(path) or gemini_format(path)
            if client_format is None:
                return wsgi_app(environ, start_response)
            status = [500]

            def capture(status_line, headers, exc_info=None):
                status[0] = int(status_line[:3])
                return start_response(status_line, headers, exc_info)

            started()
            try:
                body = wsgi_app(environ, capture)
            except BaseException:
                sent(500, client_format)
                raise
            return _ClosingBody(body, lambda: sent(status[0], client_format))

        return app


class _ClosingBody:
    """A WSGI body that runs `done` once when the server closes it."""

    __slots__ = ("_body", "_done")

    def __init__(self, body, done):
        self._body, self._done = body, done

    def __iter__(self):
        return iter(self._body)

    def close(self) -> None:
        done, self._done = self._done, None
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            if done is not None:
                done()


class KeyStateCollector:
    """`llm_proxy_keys{state=...}`: the pool's keys by state, counted when scraped."""

    def __init__(self, pool):
        self.pool = pool

    def describe(self):
        return [GaugeMetricFamily("llm_proxy_keys", "API keys by state.", labels=["state"])]

    def collect(self):
        family = GaugeMetricFamily("llm_proxy_keys", "API keys by state.", labels=["state"])
        for state, count in self.pool.counts_by_status().items():
            family.add_metric([state], count)
        yield family


class SharedStateCollector:
    """`llm_proxy_shared_state_up`: 1 while the shared pool (Redis) answers, else 0.

    Only a shared pool has it; the in-process one has nothing to be cut off from.
    """

    def __init__(self, pool):
        self.pool = pool

    def describe(self):
        return [GaugeMetricFamily("llm_proxy_shared_state_up", "1 while the shared key "
                                  "pool (Redis) can be reached.")] if self._shared() else []

    def _shared(self) -> bool:
        return getattr(self.pool, "shared", None) is not None

    def collect(self):
        if self._shared():
            yield GaugeMetricFamily("llm_proxy_shared_state_up", "1 while the shared key "
                                    "pool (Redis) can be reached.",
                                    value=1 if self.pool.shared else 0)


class NullMetrics:
    """Metrics that record nothing (a Forwarder built without an app)."""

    def request_started(self) -> None:
        pass

    def response_sent(self, status: int, client_format: str) -> None:
        pass

    def request_finished(self, provider, model, status, streamed, seconds,
                         client_format) -> None:
        pass

    def upstream_latency(self, provider, model, seconds) -> None:
        pass

    def first_byte(self, provider, model, seconds) -> None:
        pass

    def failover(self, reason) -> None:
        pass
