"""Key health policy: pure functions from a key's health and an outcome to its next health.

The policy computes a HealthChange from the outcome alone; applying it to the health held
by a store is a few comparisons, so a shared store can apply it inside one atomic call
(see the outline in llm_proxy.pool) while the in-process store uses `apply` below.
"""
from __future__ import annotations

from typing import NamedTuple

from ..errors import AUTH, LOOP, NETWORK, RATE_LIMITED, SERVER, TIMEOUT, bounded_wait
from .lease import NOT_SENT, OK, SKIP_COOLING, SKIP_DISABLED, SKIP_INVALID, Outcome, Skip

# 5xx, network and timeout failures cool a key briefly; repeated failures double it.
ERROR_COOLDOWN_BASE = 1.0
ERROR_COOLDOWN_MAX = 60.0

ACTIVE, COOLING, INVALID, DISABLED = "active", "cooling_down", "invalid", "disabled"
STATUSES = (ACTIVE, COOLING, INVALID, DISABLED)


class Health(NamedTuple):
    invalid: bool = False
    cooldown_until: float = 0.0
    failure_streak: int = 0


HEALTHY = Health()


class HealthChange(NamedTuple):
    """What an outcome does to a key's health, independent of the health it finds.

    `clear` resets everything (a check that passed); `invalidate` sets the invalid mark;
    `cool_until` raises cooldown_until to at least that time; `backoff` adds one to the
    failure streak and cools the key from `now` for ERROR_COOLDOWN_BASE doubled per
    earlier failure of the streak, at most ERROR_COOLDOWN_MAX; `reset_streak` ends the
    streak (a served request).
    """
    now: float = 0.0
    clear: bool = False
    invalidate: bool = False
    cool_until: float = 0.0
    backoff: bool = False
    reset_streak: bool = False


# A served request's change, and no change: the same values every time, made once.
SERVED = HealthChange(reset_streak=True)
UNCHANGED = HealthChange()


def change_for(outcome: Outcome, now: float, default_cooldown: float) -> HealthChange:
    """The health change `outcome` calls for."""
    kind = outcome.kind
    if kind == OK and not outcome.check:
        return SERVED
    if kind == NOT_SENT:
        return UNCHANGED
    if outcome.served:
        return HealthChange(now=now, clear=outcome.check, reset_streak=True)
    if kind in (AUTH, LOOP):
        return HealthChange(now=now, invalidate=True)
    if kind == RATE_LIMITED:
        wait = bounded_wait(outcome.retry_after)
        if wait is None:
            wait = default_cooldown
        elif wait == 0:  # "retry now": a moment, not the long default
            wait = ERROR_COOLDOWN_BASE
        return HealthChange(now=now, cool_until=now + wait)
    if kind in (SERVER, NETWORK, TIMEOUT):
        return HealthChange(now=now, backoff=True)
    return HealthChange(now=now)  # a bad request, a broken stream: nothing about the key


def backoff_seconds(streak: int) -> float:
    """The cooldown after the `streak`-th failure in a row."""
    return min(ERROR_COOLDOWN_BASE * 2 ** (streak - 1), ERROR_COOLDOWN_MAX)


def apply(health: Health, change: HealthChange) -> Health:
    """`health` after `change`."""
    if change.clear:
        return HEALTHY
    if health is HEALTHY and not (change.invalidate or change.cool_until or change.backoff):
        return health  # a served request on a healthy key: the common case
    invalid, until, streak = health.invalid, health.cooldown_until, health.failure_streak
    if change.invalidate:
        invalid = True
    if change.cool_until > until:
        until = change.cool_until
    if change.backoff:
        streak += 1
        until = max(until, change.now + backoff_seconds(streak))
    if change.reset_streak:
        streak = 0
    return Health(invalid, until, streak)


def status(enabled: bool, health: Health, now: float) -> str:
    if not enabled:
        return DISABLED
    if health.invalid:
        return INVALID
    if health.cooldown_until > now:
        return COOLING
    return ACTIVE


def usable(enabled: bool, health: Health, now: float) -> bool:
    return enabled and not health.invalid and health.cooldown_until <= now


def recovery_wait(enabled: bool, health: Health, now: float) -> float | None:
    """Seconds until a cooling key serves again; None for one that waiting will not bring
    back (invalid, disabled) or that is usable now."""
    if enabled and not health.invalid and health.cooldown_until > now:
        return health.cooldown_until - now
    return None


def skip_of(key_id: str, enabled: bool, health: Health, now: float) -> Skip | None:
    """Why an acquire at `now` passes over this key; None when the key can serve."""
    if not enabled:
        return Skip(key_id, SKIP_DISABLED)
    if health.invalid:
        return Skip(key_id, SKIP_INVALID)
    if health.cooldown_until > now:
        return Skip(key_id, SKIP_COOLING, health.cooldown_until)
    return None


def skip_waits(skipped, now: float) -> list[float]:
    """Seconds until each skipped key that recovers by waiting can serve again."""
    return [s.until - now for s in skipped if s.until is not None]
