"""What the proxy remembers of recent requests: per-minute usage and request records.

The attempt loop hands each finished request's values to `Activity.request` once, where
its log line is written (for a stream: when the stream ends); /api/usage and
/api/requests read them back. With REDIS_URL they cover every process.
"""
from __future__ import annotations

import time

from . import record as records
from .store import RECORDS_KEPT, LocalActivity
from .usage import HORIZON_MINUTES

__all__ = ["Activity", "HORIZON_MINUTES", "RECORDS_KEPT", "make_activity"]


class Activity:
    """Builds a request's record and usage counts, and keeps them in its store."""

    def __init__(self, store: LocalActivity):
        self.store = store

    def request(self, *, tried_model: str, **values) -> dict:
        """Record one finished request (the keyword values of record.build); its usage
        counts for `tried_model`, the pool's model that served it or was tried last (the
        record keeps the name the client asked for, which may be a list or an alias)."""
        record = records.build(**values)
        self.store.add(record, records.usage_counts(record, tried_model))
        return record

    def usage(self, minutes: int) -> dict:
        return self.store.usage(minutes)

    def recent(self, limit: int) -> list[dict]:
        return self.store.recent(limit)

    @property
    def shared(self):
        return self.store.shared


def make_activity(config, clock=time.time) -> Activity:
    """The Redis-backed store with REDIS_URL, else the in-process one."""
    if config.redis_url:
        from .shared_store import SharedActivity
        return Activity(SharedActivity(config.redis_url, config.redis_prefix, clock=clock))
    return Activity(LocalActivity(clock=clock))
