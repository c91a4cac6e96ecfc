"""KeyPool: the keys of every model, their round-robin rotation, health and statistics.

All state lives behind the public methods of KeyPool, under one lock, so that another
backend (shared through Redis, say) can take its place without touching the callers.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from .errors import (AUTH, LOOP, NETWORK, RATE_LIMITED, SERVER, TIMEOUT, AllKeysCoolingDown,
                     Conflict, ModelNotFound, NoUsableKey, NotFound, bounded_wait)

# 5xx, network and timeout failures cool a key briefly; repeated failures double it.
ERROR_COOLDOWN_BASE = 1.0
ERROR_COOLDOWN_MAX = 60.0


def mask_secret(secret: str) -> str:
    """At most the first 4 and last 4 characters around an ellipsis.

    Shorter secrets show less, so that at least two thirds of any secret stay hidden;
    under 6 characters nothing is shown.
    """
    shown = min(4, len(secret) // 6)
    if shown == 0:
        return "…"
    return f"{secret[:shown]}…{secret[-shown:]}"


# A run of this many characters of a secret, found in an upstream message, is an echo of
# it (a provider that shows all but the last three, say) and gets masked.
ECHO_FRAGMENT = 10


def echo_forms(secret: str) -> set[str]:
    """The ways a provider echoes a secret whole: raw, JSON-escaped and URL-encoded."""
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}


def mask_echoes(text: str, secret: str) -> str:
    """`text` with every echo of `secret` masked: each of its echo_forms, and any run of
    ECHO_FRAGMENT or more of its characters."""
    if not text or not secret:
        return text
    masked = mask_secret(secret)
    for form in echo_forms(secret):
        if form in text:
            text = text.replace(form, masked)
    if len(secret) < ECHO_FRAGMENT:
        return text
    start = 0
    while start <= len(secret) - ECHO_FRAGMENT:
        at = text.find(secret[start:start + ECHO_FRAGMENT])
        if at < 0:
            start += 1
            continue
        # Extend the run as far as text and secret agree, then mask it whole; look again
        # from the start, since another part of the secret may be echoed elsewhere.
        end, stop = start + ECHO_FRAGMENT, at + ECHO_FRAGMENT
        while end < len(secret) and stop < len(text) and secret[end] == text[stop]:
            end, stop = end + 1, stop + 1
        text = text[:at] + masked + text[stop:]
        start = 0
    return text


def stable_key_id(provider: str, model: str, api_key: str) -> str:
    """An id that survives restarts for configured keys and says nothing usable of the secret."""
    digest = hashlib.sha256(f"{provider}\0{model}\0{api_key}".encode()).hexdigest()
    return digest[:12]


@dataclass
class KeyStats:
    requests: int = 0
    successes: int = 0
    failures: int = 0
    failures_by_kind: dict = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last_used: float | None = None
    last_error: str | None = None

    def as_dict(self) -> dict:
        return {"requests": self.requests, "successes": self.successes,
                "failures": self.failures, "failures_by_kind": dict(self.failures_by_kind),
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "last_used": self.last_used, "last_error": self.last_error}


@dataclass(eq=False)
class Key:
    id: str
    provider: str
    model: str
    api_key: str
    base_url: str | None = None
    enabled: bool = True
    source: str = "env"
    invalid: bool = False
    cooldown_until: float = 0.0
    failure_streak: int = 0
    # Bumped when the secret or URL changes: a failure of a request sent before that says
    # nothing about the key as it is now.
    generation: int = 0
    stats: KeyStats = field(default_factory=KeyStats)

    def status(self, now: float) -> str:
        if not self.enabled:
            return "disabled"
        if self.invalid:
            return "invalid"
        if self.cooldown_until > now:
            return "cooling_down"
        return "active"

    def usable(self, now: float) -> bool:
        return self.enabled and not self.invalid and self.cooldown_until <= now

    @property
    def masked(self) -> str:
        return mask_secret(self.api_key)

    def public(self, now: float) -> dict:
        """The admin view of the key: everything but the secret, which is masked."""
        return {"id": self.id, "provider": self.provider, "model": self.model,
                "api_key": self.masked, "base_url": self.base_url,
                "enabled": self.enabled, "status": self.status(now),
                "cooldown_until": self.cooldown_until if self.cooldown_until > now else None,
                "source": self.source, "stats": self.stats.as_dict()}


class _Ring:
    """One model's keys in rotation order, with the cycle the rotation draws from."""

    def __init__(self, keys: list[Key], old: _Ring | None = None):
        self.keys = keys
        # Restart the cycle where the old one would have gone on, so a rebuild (add, edit,
        # delete) neither repeats nor skips anyone's turn.
        ids = [k.id for k in keys]
        start = _next_turn(ids, old)
        self.cycle = itertools.cycle(keys[start:] + keys[:start])
        # The key served last (kept while it exists), else the one whose turn is next:
        # what the next rebuild resumes from, however many rebuilds come in between.
        self.last: str | None = old.last if old is not None and old.last in ids else None
        self.upcoming: str | None = keys[start].id if old is not None else None


def _next_turn(ids: list[str], old: _Ring | None) -> int:
    """Index in `ids` of the key whose turn is next in the old ring."""
    if old is None:
        return 0
    if old.last is not None and old.last in ids:
        return (ids.index(old.last) + 1) % len(ids)
    if old.last is None and old.upcoming in ids:
        return ids.index(old.upcoming)
    # That key is gone: the turn passes to the next one of the old order still here.
    old_ids = [k.id for k in old.keys]
    gone = old.last if old.last is not None else old.upcoming
    if gone in old_ids:
        at = old_ids.index(gone)
        after = old_ids[at + 1:] + old_ids[:at] if old.last is not None else \
            old_ids[at:] + old_ids[:at]
        present = set(ids)
        for key_id in after:
            if key_id in present:
                return ids.index(key_id)
    return 0


class KeyPool:
    """Thread-safe key store and rotator shared by every worker thread of the process."""

    def __init__(self, entries=(), *, default_cooldown: float = 60.0, clock=time.time,
                 on_state_change=None):
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}
        self._rings: dict[str, _Ring] = {}
        self._clock = clock
        self.default_cooldown = default_cooldown
        # Called (outside the lock) as on_state_change(key, old_status, new_status, reason).
        self._on_state_change = on_state_change
        seen: set = set()
        for entry in entries:
            self._insert(self._new_key(entry, source="env"), seen)
        self._rebuild_all()

    # -- rotation -------------------------------------------------------------------

    def acquire(self, model: str, tried: set | frozenset = frozenset()) -> Key | None:
        """The next usable key of `model` in round-robin order, skipping ids in `tried`.

        Raises ModelNotFound when the model has no key, AllKeysCoolingDown or NoUsableKey
        when nothing was tried yet and nothing can be; returns None when the keys not yet
        tried by this request are all unusable.
        """
        with self._lock:
            ring = self._rings.get(model)
            if ring is None:
                raise ModelNotFound(f"The model '{model}' does not exist or has no key "
                                    "configured in this proxy.", param="model")
            now = self._clock()
            for _ in range(len(ring.keys)):
                key = next(ring.cycle)
                if key.id not in tried and key.usable(now):
                    ring.last, ring.upcoming = key.id, None
                    key.stats.requests += 1
                    key.stats.last_used = now
                    return key
            if tried:
                return None
            waits = _recovery_waits(ring, now)
        if waits:
            raise AllKeysCoolingDown(f"Every key of model '{model}' is rate-limited or "
                                     "cooling down; retry later.", retry_after=min(waits))
        raise NoUsableKey(f"Every key of model '{model}' is disabled or invalid.")

    def record_success(self, key: Key, usage: dict | None = None) -> None:
        with self._lock:
            key.stats.successes += 1
            key.failure_streak = 0
            if usage:
                key.stats.prompt_tokens += _as_int(usage.get("prompt_tokens"))
                key.stats.completion_tokens += _as_int(usage.get("completion_tokens"))

    def add_usage(self, key: Key, usage: dict | None) -> None:
        if usage:
            with self._lock:
                key.stats.prompt_tokens += _as_int(usage.get("prompt_tokens"))
                key.stats.completion_tokens += _as_int(usage.get("completion_tokens"))

    def record_failure(self, key: Key, kind: str, *, message: str = "",
                       retry_after: float | None = None, count: bool = True,
                       generation: int | None = None, secret: str | None = None) -> None:
        """Count a failed attempt and move the key into the state the failure calls for.

        count=False (a health check, not a client request) changes state only. A failure
        of a request sent with an older `generation` of the key (its secret or URL edited
        since) is counted but leaves the state alone. `secret` is the one the request
        carried, when it may differ from the key's current one.
        """
        # Providers echo keys in their error messages: masked before it is kept, so no
        # later view of the statistics can show it (and outside the lock: it takes time).
        last_error = kind
        if message:
            last_error = mask_echoes(message, secret or key.api_key)
            if secret and secret != key.api_key:
                last_error = mask_echoes(last_error, key.api_key)
            last_error = last_error[:300]
        with self._lock:
            now = self._clock()
            old = key.status(now)
            if count:
                key.stats.failures += 1
                key.stats.failures_by_kind[kind] = key.stats.failures_by_kind.get(kind, 0) + 1
            key.stats.last_error = last_error
            if generation is not None and generation != key.generation:
                pass  # about the key as it was
            elif kind in (AUTH, LOOP):
                key.invalid = True
            elif kind == RATE_LIMITED:
                wait = bounded_wait(retry_after)
                if wait is None:
                    wait = self.default_cooldown
                elif wait == 0:  # "retry now": a moment, not the long default
                    wait = ERROR_COOLDOWN_BASE
                key.cooldown_until = max(key.cooldown_until, now + wait)
            elif kind in (SERVER, NETWORK, TIMEOUT):
                key.failure_streak += 1
                wait = min(ERROR_COOLDOWN_BASE * 2 ** (key.failure_streak - 1),
                           ERROR_COOLDOWN_MAX)
                key.cooldown_until = max(key.cooldown_until, now + wait)
            new = key.status(now)
        if new != old and self._on_state_change:
            self._on_state_change(key, old, new, kind)

    def snapshot(self, key: Key) -> Key:
        """A copy of `key` as it is now, never half-way through an edit."""
        with self._lock:
            return copy.copy(key)

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
            waits = _recovery_waits(ring, now)
        return min(waits) if waits else None

    def mark_valid(self, key: Key) -> None:
        """Clear an `invalid` mark after the provider accepted the key again."""
        self.reset(key.id)

    # -- reading ----------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def models(self) -> list[tuple[str, str]]:
        """(model, provider of its first key) for every model with at least one key."""
        with self._lock:
            return [(model, ring.keys[0].provider) for model, ring in self._rings.items()]

    def keys(self) -> list[Key]:
        with self._lock:
            return list(self._keys.values())

    def public_keys(self) -> list[dict]:
        with self._lock:
            now = self._clock()
            return [k.public(now) for k in self._keys.values()]

    def public_key(self, key_id: str) -> dict:
        with self._lock:
            return self._get(key_id).public(self._clock())

    def get(self, key_id: str) -> Key:
        with self._lock:
            return self._get(key_id)

    def counts_by_status(self) -> dict[str, int]:
        counts = {"active": 0, "cooling_down": 0, "invalid": 0, "disabled": 0}
        with self._lock:
            now = self._clock()
            for key in self._keys.values():
                counts[key.status(now)] += 1
        return counts

    # -- changes ------------------------------------------------------------------------

    def add(self, entries: list[dict], source: str = "api") -> list[Key]:
        """Add validated entries atomically: all of them, or none when one is a duplicate."""
        with self._lock:
            new = [self._new_key(e, source=source) for e in entries]
            seen = {self._identity(k) for k in self._keys.values()}
            for i, key in enumerate(new):
                ident = self._identity(key)
                if ident in seen:
                    where = f"entry {i}: " if len(new) > 1 else ""
                    raise Conflict(f"{where}a key with this provider, model and api_key "
                                   "already exists.", code="duplicate_key")
                seen.add(ident)
            for key in new:
                self._insert(key, seen=None)
            self._rebuild_all()
            return new

    def update(self, key_id: str, changes: dict) -> Key:
        """Apply validated changes; a new secret, URL or re-enable clears health marks."""
        with self._lock:
            key = self._get(key_id)
            candidate = (key.provider, changes.get("model", key.model),
                         changes.get("api_key", key.api_key))
            for other in self._keys.values():
                if other is not key and self._identity(other) == candidate:
                    raise Conflict("a key with this provider, model and api_key already "
                                   "exists.", code="duplicate_key")
            edited = any(f in changes and changes[f] != getattr(key, f)
                         for f in ("api_key", "base_url"))
            if edited:
                key.generation += 1
            if edited or changes.get("enabled") is True:
                key.invalid = False
                key.cooldown_until = 0.0
                key.failure_streak = 0
            for name, value in changes.items():
                setattr(key, name, value)
            self._rebuild_all()
            return key

    def delete(self, key_id: str) -> None:
        with self._lock:
            self._get(key_id)
            del self._keys[key_id]
            self._rebuild_all()

    def delete_matching(self, provider: str, model: str, api_key: str | None = None) -> int:
        with self._lock:
            doomed = [k.id for k in self._keys.values()
                      if k.provider == provider and k.model == model
                      and (api_key is None or k.api_key == api_key)]
            for key_id in doomed:
                del self._keys[key_id]
            if doomed:
                self._rebuild_all()
            return len(doomed)

    def reset(self, key_id: str) -> Key:
        """Clear a cooldown or an `invalid` mark at once."""
        with self._lock:
            key = self._get(key_id)
            old = key.status(self._clock())
            key.invalid = False
            key.cooldown_until = 0.0
            key.failure_streak = 0
            new = key.status(self._clock())
        if old != new and self._on_state_change:
            self._on_state_change(key, old, new, "reset")
        return key

    # -- internals (lock held) ---------------------------------------------------------------

    def _get(self, key_id: str) -> Key:
        key = self._keys.get(key_id)
        if key is None:
            # The id is not echoed: a secret pasted into the URL by mistake stays unseen.
            raise NotFound("No key with this id.", code="key_not_found")
        return key

    @staticmethod
    def _identity(key: Key) -> tuple:
        return (key.provider, key.model, key.api_key)

    def _new_key(self, entry: dict, source: str) -> Key:
        if source == "env":
            key_id = stable_key_id(entry["provider"], entry["model"], entry["api_key"])
        else:
            key_id = uuid.uuid4().hex[:12]
        return Key(id=key_id, provider=entry["provider"], model=entry["model"],
                   api_key=entry["api_key"], base_url=entry.get("base_url"),
                   enabled=entry.get("enabled", True), source=source)

    def _insert(self, key: Key, seen: set | None) -> None:
        """Store `key`; with `seen` (identities so far) a repeat is skipped, not stored."""
        if seen is not None:
            ident = self._identity(key)
            if ident in seen:
                return  # a configured duplicate adds nothing; config warns about it
            seen.add(ident)
        while key.id in self._keys:
            key.id = uuid.uuid4().hex[:12]
        self._keys[key.id] = key

    def _rebuild_all(self) -> None:
        by_model: dict[str, list[Key]] = {}
        for key in self._keys.values():
            by_model.setdefault(key.model, []).append(key)
        old = self._rings
        self._rings = {model: _Ring(keys, old.get(model)) for model, keys in by_model.items()}


def _recovery_waits(ring: _Ring, now: float) -> list[float]:
    """Seconds until each cooling key of the ring can serve again (invalid and disabled
    keys do not recover by waiting)."""
    return [k.cooldown_until - now for k in ring.keys
            if k.enabled and not k.invalid and k.cooldown_until > now]


def _as_int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
