"""Per-minute usage: a ring of minutes in memory, and the series /api/usage answers.

A minute's bucket maps usage fields (record.field: scope, name, counter) to counts; the
ring keeps the last HORIZON_MINUTES of them, so memory is bounded by the minutes kept
times the models and keys that were used in them.
"""
from __future__ import annotations

import threading

from .record import KEY, MODEL, TOTAL, split_field

HORIZON_MINUTES = 180
COUNTERS = ("requests", "prompt_tokens", "completion_tokens")


def minute_of(now: float) -> int:
    """The epoch second at which the minute holding `now` started."""
    return int(now // 60) * 60


class UsageRing:
    """The last HORIZON_MINUTES minutes of usage counts of this process."""

    def __init__(self, horizon: int = HORIZON_MINUTES):
        self.horizon = horizon
        self._lock = threading.Lock()
        self._minutes: dict[int, dict[str, int]] = {}

    def add(self, minute: int, counts: dict[str, int]) -> None:
        with self._lock:
            bucket = self._minutes.get(minute)
            if bucket is None:
                bucket = self._minutes[minute] = {}
                oldest = minute - (self.horizon - 1) * 60
                for gone in [m for m in self._minutes if m < oldest]:
                    del self._minutes[gone]
            for name, value in counts.items():
                bucket[name] = bucket.get(name, 0) + value

    def buckets(self, minutes: list[int]) -> dict[int, dict[str, int]]:
        with self._lock:
            return {m: dict(self._minutes[m]) for m in minutes if m in self._minutes}


def window(minutes: int, now: float) -> list[int]:
    """The starts of the last `minutes` minutes, the current one last."""
    last = minute_of(now)
    return [last - 60 * i for i in range(minutes - 1, -1, -1)]


def series_view(times: list[int], buckets: dict[int, dict[str, int]]) -> dict:
    """The /api/usage answer: per scope and name, one value per minute of `times` for each
    counter, errors by kind."""
    index = {t: i for i, t in enumerate(times)}
    n = len(times)
    total = _empty(n)
    scopes = {MODEL: {}, KEY: {}}
    for minute, bucket in buckets.items():
        i = index.get(minute)
        if i is None:
            continue
        for name, value in bucket.items():
            parts = split_field(name)
            if parts is None:
                continue
            scope, subject, counter = parts
            if scope == TOTAL:
                series = total
            elif scope in scopes:
                series = scopes[scope].get(subject)
                if series is None:
                    series = scopes[scope][subject] = _empty(n)
            else:
                continue
            if counter.startswith("errors."):
                kind = counter[7:]
                row = series["errors"].get(kind)
                if row is None:
                    row = series["errors"][kind] = [0] * n
                row[i] += int(value)
            elif counter in COUNTERS:
                series[counter][i] += int(value)
    return {"minutes": n, "step": 60, "times": times, "total": total,
            "models": dict(sorted(scopes[MODEL].items())),
            "keys": dict(sorted(scopes[KEY].items()))}


def _empty(n: int) -> dict:
    return {"requests": [0] * n, "errors": {}, "prompt_tokens": [0] * n,
            "completion_tokens": [0] * n}
