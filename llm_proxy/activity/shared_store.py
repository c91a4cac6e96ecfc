"""Usage and request records of every process sharing REDIS_URL and REDIS_PREFIX.

Each process keeps its own in memory too (what /api/usage and /api/requests answer while
Redis is away) and sends what it recorded to Redis from a background thread, one
pipelined round trip per batch, so a request never waits on Redis for it: per-minute
hashes (HINCRBY, expiring after the ring's horizon) and one capped list of records
(LPUSH + LTRIM). Imported only with REDIS_URL.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque

import redis

from .store import LocalActivity
from .usage import HORIZON_MINUTES, minute_of, series_view, window

log = logging.getLogger(__name__)

# How long a batch waits for more before it goes to Redis: what another process's view
# lags behind at most (this process's own reads send its batch first).
FLUSH_INTERVAL = 0.5
REDIS_TIMEOUT = 0.5
_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
         redis.exceptions.ReadOnlyError, redis.exceptions.OutOfMemoryError, OSError)


class SharedActivity(LocalActivity):
    """Usage and records of every process sharing REDIS_URL and REDIS_PREFIX."""

    def __init__(self, url: str, prefix: str, clock=time.time, kept: int | None = None,
                 timeout: float = REDIS_TIMEOUT):
        super().__init__(clock, kept)
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=timeout,
                                           socket_connect_timeout=timeout,
                                           decode_responses=True)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending_counts: dict[int, dict[str, int]] = {}
        self._pending_records: deque = deque(maxlen=self.kept)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = None
        self.shared = True

    def add(self, record: dict, counts: dict[str, int]) -> None:
        super().add(record, counts)
        minute = minute_of(record["time"])
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            bucket = self._pending_counts.setdefault(minute, {})
            for name, value in counts.items():
                bucket[name] = bucket.get(name, 0) + value
            self._pending_records.append(line)
            if self._pid != os.getpid():  # first use, or a forked worker: no thread yet
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="llm-proxy-activity")
                self._thread.start()
        self._wake.set()

    def usage(self, minutes: int) -> dict:
        times = window(minutes, self.clock())
        try:
            self.flush()
            pipe = self._redis.pipeline(transaction=False)
            for minute in times:
                pipe.hgetall(self._k("usage", str(minute)))
            buckets = {m: b for m, b in zip(times, pipe.execute()) if b}
        except _DOWN:
            self._down()
            return super().usage(minutes)
        self.shared = True
        return series_view(times, buckets)

    def recent(self, limit: int) -> list[dict]:
        try:
            self.flush()
            lines = self._redis.lrange(self._k("requests"), 0, limit - 1)
        except _DOWN:
            self._down()
            return super().recent(limit)
        self.shared = True
        return [json.loads(line) for line in lines]

    def flush(self) -> None:
        """Send what this process recorded since the last batch, in one round trip."""
        with self._flush_lock:
            with self._lock:
                counts, self._pending_counts = self._pending_counts, {}
                lines, self._pending_records = self._pending_records, deque(maxlen=self.kept)
            if not counts and not lines:
                return
            ttl = HORIZON_MINUTES * 60 + 120
            pipe = self._redis.pipeline(transaction=False)
            for minute, bucket in counts.items():
                name = self._k("usage", str(minute))
                for field_name, value in bucket.items():
                    pipe.hincrby(name, field_name, value)
                pipe.expire(name, ttl)
            if lines:
                # LPUSH puts its last value first: the newest record heads the list.
                pipe.lpush(self._k("requests"), *lines)
                pipe.ltrim(self._k("requests"), 0, self.kept - 1)
            pipe.execute()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(FLUSH_INTERVAL)
            self._wake.clear()
            try:
                self.flush()
            except _DOWN:
                # Dropped for Redis; this process's memory still holds them.
                self._down()
            except Exception:  # noqa: BLE001 - the thread must outlive any one batch
                log.exception("activity flush failed")

    def _down(self) -> None:
        if self.shared:
            log.warning("shared state unavailable: usage and request records are this "
                        "process's own until Redis answers")
        self.shared = False

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))
