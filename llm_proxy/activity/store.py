"""Where usage and request records are kept in this process: a UsageRing and a capped
deque (shared_store.py adds Redis on top, for every process)."""
from __future__ import annotations

import time
from collections import deque

from .usage import UsageRing, minute_of, series_view, window

RECORDS_KEPT = 1000


class LocalActivity:
    """Usage and records of this process."""

    shared = None

    def __init__(self, clock=time.time, kept: int | None = None):
        self.clock = clock
        self.kept = kept or RECORDS_KEPT
        self.ring = UsageRing()
        self.records: deque = deque(maxlen=self.kept)

    def add(self, record: dict, counts: dict[str, int]) -> None:
        self.ring.add(minute_of(record["time"]), counts)
        self.records.append(record)  # deque.append is atomic: no lock

    def usage(self, minutes: int) -> dict:
        times = window(minutes, self.clock())
        return series_view(times, self.ring.buckets(times))

    def recent(self, limit: int) -> list[dict]:
        newest = list(self.records)[-limit:]
        newest.reverse()
        return newest
