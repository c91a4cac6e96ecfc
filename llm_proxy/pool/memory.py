"""The in-process store: every key in this process's memory, one lock, a cycle per model."""
from __future__ import annotations

import threading
import time
import uuid
from collections import deque

from ..errors import Conflict, ModelNotFound, NotFound
from ..redaction import mask_echoes
from . import health as policy
from . import stats
from .base import PoolReads, exhausted, recovery_waits
from .health import HEALTHY, skip_of
from ..errors import RATE_LIMITED
from .lease import (NOT_SENT, RPM_WINDOW, SKIP_OVER_RPM, SKIP_QUOTA_GROUP, Lease, Outcome,
                    Skip)
from .records import Key, stable_key_id
from .rotation import rings_by_model
from .stats import LAST_ERROR_CHARS


# Fields whose edit makes a configured key one the admin API defined.
REDEFINING = ("api_key", "base_url", "model", "upstream_model", "api_version", "rpm",
              "quota_group")
# Fields whose edit makes it another key upstream: its past failures say nothing of it.
RENEWING = ("api_key", "base_url", "upstream_model", "api_version")


class KeyPool(PoolReads):
    """Thread-safe key store and rotator shared by every worker thread of the process."""

    def __init__(self, entries=(), *, default_cooldown: float = 60.0, clock=time.time,
                 on_state_change=None):
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}
        self._rings: dict = {}
        # Start times of the attempts of the last RPM_WINDOW seconds, per key with an rpm.
        self._windows: dict[str, deque] = {}
        # (provider, quota_group) → until when a 429 on one of its keys cools them all.
        self._group_cooling: dict[tuple, float] = {}
        self._clock = clock
        self.default_cooldown = default_cooldown
        # Called (outside the lock) as on_state_change(key copy, old status, new, reason).
        self._on_state_change = on_state_change
        seen: set = set()
        for entry in entries:
            self._insert(new_key(entry, source="env"), seen)
        self._rebuild()

    # -- attempts ---------------------------------------------------------------------------

    def acquire(self, model: str, exclude=frozenset()) -> Lease | None:
        """The next usable key of `model` in round-robin order, skipping ids in `exclude`;
        the keys it passes over go with the lease (or the error) as Skip values."""
        skipped = None  # made only when a key is passed over: the hot path allocates none

        def wanted(key) -> bool:
            nonlocal skipped
            if key.id in exclude:
                return False
            skip = skip_of(key.id, key.enabled, key.health, now)
            if skip is None and key.quota_group is not None:
                until = self._group_cooling.get((key.provider, key.quota_group), 0.0)
                if until > now:
                    skip = Skip(key.id, SKIP_QUOTA_GROUP, until)
            if skip is None and key.rpm is not None:
                skip = self._over_rpm(key, now)
            if skip is None:
                return True
            if skipped is None:
                skipped = [skip]
            else:
                skipped.append(skip)
            return False

        with self._lock:
            ring = self._rings.get(model)
            if ring is None:
                raise ModelNotFound(f"The model '{model}' does not exist or has no key "
                                    "configured in this proxy.", param="model")
            now = self._clock()
            key = ring.take(wanted)
            if key is not None:
                if key.rpm is not None:
                    self._windows.setdefault(key.id, deque()).append(now)
                key.stats.requests += 1
                key.stats.last_used = now
                return key.lease(tuple(skipped) if skipped else ())
        error = exhausted(model, tuple(skipped) if skipped else (), now)
        if error is None:
            return None
        raise error

    def report(self, lease: Lease, outcome: Outcome) -> None:
        """Count the attempt's outcome and move the key into the state it calls for."""
        counts = stats.increments(outcome)
        last_error = None
        if not outcome.served and outcome.kind != NOT_SENT:
            last_error = outcome.kind
            if outcome.message:
                # Providers echo keys in their messages: masked before it is kept (and
                # outside the lock: it takes time).
                last_error = mask_echoes(outcome.message, lease.api_key)[:LAST_ERROR_CHARS]
        with self._lock:
            key = self._keys.get(lease.id)
            if key is None:
                return  # deleted meanwhile
            now = self._clock()
            change = policy.change_for(outcome, now, self.default_cooldown)
            stats.add(key.stats, counts)
            if last_error is not None:
                if key.api_key != lease.api_key and outcome.message:
                    last_error = mask_echoes(last_error, key.api_key)
                key.stats.last_error = last_error
            if key.generation != lease.generation:
                return  # about the key as it was before an edit
            if outcome.kind == RATE_LIMITED and key.quota_group is not None:
                # The quota is the group's: every key drawing on it waits as long.
                group = (key.provider, key.quota_group)
                if change.cool_until > self._group_cooling.get(group, 0.0):
                    self._group_cooling[group] = change.cool_until
            health = policy.apply(key.health, change)
            if health == key.health:
                return
            old = key.status(now)
            key.health = health
            new = key.status(now)
            copy = key.copy() if new != old and self._on_state_change else None
        if copy is not None:
            reason = "check" if outcome.check and outcome.served else outcome.kind
            self._on_state_change(copy, old, new, reason)

    def soonest_recovery(self, model: str) -> float | None:
        """Seconds until the first key of `model` can serve again, when none can now.

        None when a key is usable now, or when none will be by waiting (invalid, disabled).
        """
        with self._lock:
            ring = self._rings.get(model)
            if ring is None:
                return None
            now = self._clock()
            if any(k.usable(now) for k in ring.keys):
                return None
            waits = recovery_waits(ring.keys, now)
        return min(waits) if waits else None

    # -- reading ----------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def models(self) -> list[tuple[str, str]]:
        """(model, provider of its first key) for every model with at least one key."""
        with self._lock:
            return [(model, ring.keys[0].provider) for model, ring in self._rings.items()]

    def keys(self) -> list[Key]:
        with self._lock:
            return [k.copy() for k in self._keys.values()]

    def get(self, key_id: str) -> Key:
        with self._lock:
            return self._get(key_id).copy()

    def secrets(self) -> list[str]:
        with self._lock:
            return [k.api_key for k in self._keys.values()]

    def lease(self, key_id: str) -> Lease:
        with self._lock:
            return self._get(key_id).lease()

    # -- changes ----------------------------------------------------------------------------

    def add(self, entries: list[dict], source: str = "api") -> list[Key]:
        """Add validated entries atomically: all of them, or none when one is a duplicate."""
        with self._lock:
            new = [new_key(e, source=source) for e in entries]
            seen = {k.identity() for k in self._keys.values()}
            for i, key in enumerate(new):
                if key.identity() in seen:
                    where = f"entry {i}: " if len(new) > 1 else ""
                    raise Conflict(f"{where}a key with this provider, model and api_key "
                                   "already exists.", code="duplicate_key")
                seen.add(key.identity())
            for key in new:
                self._insert(key, seen=None)
            self._rebuild()
            return [k.copy() for k in new]

    def update(self, key_id: str, changes: dict) -> Key:
        """Apply validated changes; a new secret, URL or re-enable clears health marks."""
        with self._lock:
            key = self._get(key_id)
            candidate = (key.provider, changes.get("model", key.model),
                         changes.get("api_key", key.api_key))
            for other in self._keys.values():
                if other is not key and other.identity() == candidate:
                    raise Conflict("a key with this provider, model and api_key already "
                                   "exists.", code="duplicate_key")
            edited = any(f in changes and changes[f] != getattr(key, f) for f in RENEWING)
            if edited:
                key.generation += 1
            if any(f in changes and changes[f] != getattr(key, f) for f in REDEFINING):
                key.source = "api"  # no longer the key LLM_KEYS describes
            if edited or changes.get("enabled") is True:
                key.health = HEALTHY
            for name, value in changes.items():
                setattr(key, name, value)
            self._rebuild()
            return key.copy()

    def delete(self, key_id: str) -> None:
        with self._lock:
            self._get(key_id)
            del self._keys[key_id]
            self._windows.pop(key_id, None)
            self._rebuild()

    def delete_matching(self, provider: str, model: str, api_key: str | None = None) -> int:
        with self._lock:
            doomed = [k.id for k in self._keys.values()
                      if k.provider == provider and k.model == model
                      and (api_key is None or k.api_key == api_key)]
            for key_id in doomed:
                del self._keys[key_id]
            if doomed:
                self._rebuild()
            return len(doomed)

    def load(self, records: list[Key]) -> None:
        """Hold exactly `records` (copies), each model's turn kept where it was."""
        with self._lock:
            self._keys = {k.id: k.copy() for k in records}
            self._rebuild()

    def reset(self, key_id: str) -> Key:
        """Clear a cooldown or an `invalid` mark at once."""
        with self._lock:
            key = self._get(key_id)
            now = self._clock()
            old = key.status(now)
            key.health = HEALTHY
            new = key.status(now)
            copy = key.copy()
        if old != new and self._on_state_change:
            self._on_state_change(copy, old, new, "reset")
        return copy

    # -- internals (lock held) -----------------------------------------------------------------

    def _over_rpm(self, key: Key, now: float) -> Skip | None:
        """Skip for a key that served its `rpm` in the last minute, free at the oldest's end."""
        window = self._windows.get(key.id)
        if not window:
            return None
        while window and window[0] <= now - RPM_WINDOW:
            window.popleft()
        if len(window) < key.rpm:
            return None
        return Skip(key.id, SKIP_OVER_RPM, window[-key.rpm] + RPM_WINDOW)

    def _get(self, key_id: str) -> Key:
        key = self._keys.get(key_id)
        if key is None:
            # The id is not echoed: a secret pasted into the URL by mistake stays unseen.
            raise NotFound("No key with this id.", code="key_not_found")
        return key

    def _insert(self, key: Key, seen: set | None) -> None:
        """Store `key`; with `seen` (identities so far) a repeat is skipped, not stored."""
        if seen is not None:
            if key.identity() in seen:
                return  # a configured duplicate adds nothing; config warns about it
            seen.add(key.identity())
        while key.id in self._keys:
            key.id = uuid.uuid4().hex[:12]
        self._keys[key.id] = key

    def _rebuild(self) -> None:
        self._rings = rings_by_model(self._keys.values(), self._rings)


def new_key(entry: dict, source: str) -> Key:
    """A key record for a validated entry: configured keys get their stable id."""
    if source == "env":
        key_id = stable_key_id(entry["provider"], entry["model"], entry["api_key"])
    else:
        key_id = uuid.uuid4().hex[:12]
    return Key(id=key_id, provider=entry["provider"], model=entry["model"],
               api_key=entry["api_key"], base_url=entry.get("base_url"),
               upstream_model=entry.get("upstream_model"),
               api_version=entry.get("api_version"), rpm=entry.get("rpm"),
               quota_group=entry.get("quota_group"),
               enabled=entry.get("enabled", True), source=source)
