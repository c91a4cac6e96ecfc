"""What every store derives from its own `keys()` and `now()`: views, counts, secrets."""
from __future__ import annotations

from ..errors import AllKeysCoolingDown, NoUsableKey
from ..key_view import public_view
from .health import STATUSES, recovery_wait, skip_waits


class PoolReads:
    """Reads over a store's key copies; stores override them where they can do better."""

    def keys(self) -> list:
        raise NotImplementedError

    def get(self, key_id: str):
        raise NotImplementedError

    def now(self) -> float:
        raise NotImplementedError

    def public_keys(self) -> list[dict]:
        now = self.now()
        return [public_view(k, now) for k in self.keys()]

    def public_key(self, key_id: str) -> dict:
        return public_view(self.get(key_id), self.now())

    def counts_by_status(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        now = self.now()
        for key in self.keys():
            counts[key.status(now)] += 1
        return counts

    def lease(self, key_id: str):
        """A lease on the key as it is now, for a key check (not counted as a request)."""
        return self.get(key_id).lease()


def recovery_waits(keys, now: float) -> list[float]:
    """Seconds until each cooling key can serve again (invalid and disabled keys do not
    recover by waiting)."""
    waits = (recovery_wait(k.enabled, k.health, now) for k in keys)
    return [w for w in waits if w is not None]


def exhausted(model: str, skipped: tuple, now: float):
    """The error of an acquire that passed over every key of `model` it could draw.

    None when it passed over none (every other key was excluded): the caller has tried
    them all. Otherwise AllKeysCoolingDown when some recover by waiting, else NoUsableKey;
    both carry the Skip values.
    """
    if not skipped:
        return None
    waits = skip_waits(skipped, now)
    if waits:
        return AllKeysCoolingDown(f"Every key of model '{model}' is rate-limited, "
                                  "cooling down or at its requests-per-minute limit; retry "
                                  "later.", retry_after=min(waits),
                                  skipped=skipped)
    return NoUsableKey(f"Every key of model '{model}' is disabled or invalid.",
                       skipped=skipped)
