"""Per-key request statistics, and the counters an outcome adds to them."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .lease import NOT_SENT, Outcome

# How much of a provider's error message is kept as a key's last error.
LAST_ERROR_CHARS = 300


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

    def copy(self) -> "KeyStats":
        return replace(self, failures_by_kind=dict(self.failures_by_kind))


def increments(outcome: Outcome) -> dict[str, int]:
    """The counters `outcome` adds: {"successes": 1, "prompt_tokens": 12, ...}.

    A failure counts under "failures" and "failures_by_kind.<kind>"; a key check counts
    nothing; a request never sent takes back the one its acquire counted; usage counts whatever the outcome (a stream that broke used tokens too).
    """
    if outcome.kind == NOT_SENT:
        return {"requests": -1}
    counts: dict[str, int] = {}
    if not outcome.check:
        if outcome.served:
            counts["successes"] = 1
        else:
            counts["failures"] = 1
            counts["failures_by_kind." + outcome.kind] = 1
    usage = outcome.usage
    if usage:
        for name in ("prompt_tokens", "completion_tokens"):
            value = _as_int(usage.get(name))
            if value:
                counts[name] = value
    return counts


def add(stats: KeyStats, counts: dict[str, int]) -> None:
    """Add `counts` (from `increments`) to `stats` in place (the caller holds its lock)."""
    for name, value in counts.items():
        if name.startswith("failures_by_kind."):
            kind = name[len("failures_by_kind."):]
            stats.failures_by_kind[kind] = stats.failures_by_kind.get(kind, 0) + value
        else:
            setattr(stats, name, getattr(stats, name) + value)


def _as_int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
