"""The key pool: which key serves the next attempt, and what became of it.

The interface, which every store implements (llm_proxy.pool.memory is the in-process one):

- `acquire(model, exclude) -> Lease | None`: the next usable key of the model in
  round-robin order, not among the ids in `exclude`, counted as a request. Raises
  ModelNotFound (no key), and AllKeysCoolingDown (with the soonest recovery) or
  NoUsableKey when no key outside `exclude` can serve; None when every key is excluded.
  The keys of the model it passed over on the way (not the excluded ones) come as Skip
  values (key id, reason, until) in the lease's `skipped`, or the error's: a store adds
  a reason by returning its Skip, and nothing is allocated when none was passed over.
- `report(lease, outcome)`: what happened to the attempt. Statistics get
  `stats.increments(outcome)`; the health gets `health.change_for(outcome, ...)`, unless
  the lease's generation is no longer the key's (edited since), and the message (masked
  with the lease's and the current secret) becomes the last error.
- `soonest_recovery(model)`, `lease(key_id)` (a key check's lease), and the admin side:
  `keys()` and `get(id)` return copies, `add`, `update`, `delete`, `delete_matching`,
  `reset`, `secrets()` (for redaction), `models()`, `counts_by_status()`, `now()`.

Every value that crosses it is immutable (Lease, Outcome) or a copy (admin reads), so no
caller ever holds state a store must guard.

A shared store (Redis) implements each of acquire and report as one Lua script, so that
one round trip is one atomic step for every worker of every host:

- keys: `{prefix}:key:{id}` hash (provider, model, base_url, enabled, source, generation,
  the secret AEAD-encrypted, invalid, cooldown_until, failure_streak, and the counters),
  `{prefix}:ring:{model}` list of ids in rotation order, `{prefix}:turn:{model}` the
  index of the next turn, `{prefix}:models` set, `{prefix}:version` bumped by every
  admin change so processes refresh their cached key list.
- acquire(model, exclude, now): starting at turn, walk the ring once; the first id not
  excluded whose hash is enabled, not invalid and `cooldown_until <= now` wins: set turn
  past it, HINCRBY requests, HSET last_used, return its fields, and for each key passed
  over its id, reason and cooldown_until (the 429's Retry-After when none serves).
- report(id, generation, counts, change, last_error): HINCRBY each of `counts`; HSET
  last_error; if the hash's generation equals the lease's, apply the HealthChange with
  the same rules as `health.apply` (clear; invalidate; cooldown_until = max(...);
  failure_streak + 1 and cooldown from now + min(base * 2^(streak-1), max); streak 0).
- Admin changes are MULTI/EXEC transactions that rewrite the hash and the ring and bump
  the version; a ring rebuild keeps the turn on the key whose turn it was.
"""
from .lease import (CLIENT_GONE, NOT_SENT, OK, SKIP_COOLING, SKIP_DISABLED, SKIP_INVALID,
                    SKIP_OVER_RPM, SKIP_QUOTA_GROUP, Lease,
                    Outcome, Skip)
from .memory import KeyPool
from .records import Key, stable_key_id

__all__ = ["CLIENT_GONE", "NOT_SENT", "OK", "SKIP_COOLING", "SKIP_DISABLED", "SKIP_INVALID",
           "SKIP_OVER_RPM", "SKIP_QUOTA_GROUP", "Key",
           "KeyPool", "Lease", "Outcome", "Skip", "stable_key_id"]
