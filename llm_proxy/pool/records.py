"""The stored form of a key, of which admin reads hand out copies."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from . import health as policy
from .health import HEALTHY, Health
from .lease import Lease
from .stats import KeyStats


def stable_key_id(provider: str, model: str, api_key: str) -> str:
    """An id that survives restarts for configured keys and says nothing usable of the secret."""
    digest = hashlib.sha256(f"{provider}\0{model}\0{api_key}".encode()).hexdigest()
    return digest[:12]


@dataclass(eq=False)
class Key:
    id: str
    provider: str
    model: str
    api_key: str
    base_url: str | None = None
    # Routing (SPEC §10): the name sent upstream, Azure's api-version, the most requests
    # in any 60 s, and the keys sharing one upstream quota.
    upstream_model: str | None = None
    api_version: str | None = None
    rpm: int | None = None
    quota_group: str | None = None
    enabled: bool = True
    source: str = "env"
    # Bumped when the secret or URL changes: a failure of a request sent before that says
    # nothing about the key as it is now.
    generation: int = 0
    health: Health = HEALTHY
    stats: KeyStats = field(default_factory=KeyStats)

    @property
    def invalid(self) -> bool:
        return self.health.invalid

    @property
    def cooldown_until(self) -> float:
        return self.health.cooldown_until

    def status(self, now: float) -> str:
        return policy.status(self.enabled, self.health, now)

    def usable(self, now: float) -> bool:
        return policy.usable(self.enabled, self.health, now)

    def identity(self) -> tuple:
        """What makes two keys the same key: a second one would add nothing."""
        return (self.provider, self.model, self.api_key)

    def lease(self, skipped: tuple = ()) -> Lease:
        return Lease(id=self.id, generation=self.generation, provider=self.provider,
                     model=self.model, api_key=self.api_key, base_url=self.base_url,
                     upstream_model=self.upstream_model, api_version=self.api_version,
                     skipped=skipped)

    def copy(self) -> "Key":
        return replace(self, stats=self.stats.copy())
