"""The values that cross the pool's interface: a lease on a key, and an attempt's outcome.

Both are named tuples: immutable, and made on every attempt at the cost of a tuple.
"""
from __future__ import annotations

from typing import NamedTuple

# Outcome kinds besides the failure kinds of llm_proxy.errors (rate_limited, auth, ...).
OK = "ok"
CLIENT_GONE = "client_closed"  # the client left: not the key's doing, counted as served
# The proxy refused the request before any upstream call (a parameter the key's provider
# cannot take): the acquire is taken back, as if the key had not been drawn.
NOT_SENT = "not_sent"

# Why an acquire passed over a key of the model (Skip.reason).
SKIP_COOLING = "cooling"  # rate-limited or backing off until Skip.until
SKIP_INVALID = "invalid"  # the provider refused it (401/403), until checked or edited
SKIP_DISABLED = "disabled"
SKIP_OVER_RPM = "over_rpm"  # served `rpm` requests in the last 60 s; free again at Skip.until
SKIP_QUOTA_GROUP = "quota_group"  # a key of its quota group was rate-limited, until Skip.until

# The window `rpm` counts requests in.
RPM_WINDOW = 60.0


class Skip(NamedTuple):
    """A key of the model an acquire passed over, and why.

    `until` (epoch seconds) is when waiting brings the key back, None when waiting will
    not (invalid, disabled).
    """
    key_id: str
    reason: str
    until: float | None = None


class Lease(NamedTuple):
    """One attempt's key, as it was when acquired; later edits never reach it.

    `generation` changes with the secret or URL: an outcome reported for an older
    generation is about the key as it was and leaves its health alone.
    """
    id: str
    generation: int
    provider: str
    model: str
    api_key: str
    base_url: str | None = None
    # The name sent upstream, when it differs from the name clients use.
    upstream_model: str | None = None
    # Azure OpenAI's api-version for this key (None: the provider's default).
    api_version: str | None = None
    # The keys of the model this acquire passed over before this one (Skip values; ids
    # the caller excluded are not among them). Empty, and shared, in the common case.
    skipped: tuple = ()

    @property
    def wire_model(self) -> str:
        return self.upstream_model or self.model


class Outcome(NamedTuple):
    """What happened to one attempt on a leased key.

    `kind` is OK, CLIENT_GONE or a failure kind; `usage` the OpenAI-style token usage the
    answer reported; `retry_after` the provider's wait hint in seconds; `message` the
    provider's error text (masked before it is kept); `check=True` for a key check, which
    changes the key's health but none of its request statistics.
    """
    kind: str
    usage: dict | None = None
    retry_after: float | None = None
    message: str = ""
    check: bool = False

    @property
    def served(self) -> bool:
        return self.kind in (OK, CLIENT_GONE)
