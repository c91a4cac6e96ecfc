"""The admin API's view of a key: everything but the secret, which is masked."""
from __future__ import annotations

from .redaction import mask_secret


def public_view(key, now: float) -> dict:
    cooldown = key.health.cooldown_until
    return {"id": key.id, "provider": key.provider, "model": key.model,
            "api_key": mask_secret(key.api_key), "base_url": key.base_url,
            "upstream_model": key.upstream_model, "api_version": key.api_version,
            "rpm": key.rpm, "quota_group": key.quota_group,
            "enabled": key.enabled, "status": key.status(now),
            "cooldown_until": cooldown if cooldown > now else None,
            "source": key.source, "stats": key.stats.as_dict()}
