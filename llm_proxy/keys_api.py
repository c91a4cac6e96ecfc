"""Blueprint "keys": the admin JSON API over the key pool (bearer ADMIN_TOKEN)."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request

from .auth import require_token
from .config import EntryError, validate_entry
from .errors import InvalidRequest, ProxyError
from .key_pool import KeyPool
from .providers import DEFAULT_BASE_URLS, canonical_provider
from .upstream_probe import probe_key

log = logging.getLogger(__name__)

bp = Blueprint("keys", __name__, url_prefix="/api")

EDITABLE = ("api_key", "base_url", "enabled", "model")


@bp.before_request
def _check_admin_token():
    if request.method == "OPTIONS":
        return None  # CORS preflight carries no credentials
    require_token((current_app.config["PROXY"].admin_token,), "admin API")
    return None


def _pool() -> KeyPool:
    return current_app.extensions["llm_proxy.pool"]


@bp.get("/keys")
def list_keys():
    """Every key, masked, with status and statistics."""
    return jsonify({"keys": _pool().public_keys()})


@bp.post("/keys")
def add_keys():
    """Add one entry or an array of entries; all or nothing."""
    body = _json_body()
    items = body if isinstance(body, list) else [body]
    if not items:
        raise InvalidRequest("Send one key entry or a non-empty array of them.")
    entries = []
    for i, item in enumerate(items):
        try:
            entries.append(validate_entry(item))
        except EntryError as exc:
            where = f"entry {i}: " if isinstance(body, list) else ""
            raise InvalidRequest(f"{where}{exc}", param=exc.field) from None
    keys = _pool().add(entries, source="api")
    now = _pool().now()
    created = [k.public(now) for k in keys]
    log.info("keys added ids=%s", ",".join(k.id for k in keys))
    return jsonify({"keys": created} if isinstance(body, list) else created[0]), 201


@bp.get("/keys/<key_id>")
def get_key(key_id: str):
    """One key, masked."""
    return jsonify(_pool().public_key(key_id))


@bp.patch("/keys/<key_id>")
def edit_key(key_id: str):
    """Change a key's api_key, base_url, enabled flag or model."""
    body = _json_body()
    if not isinstance(body, dict) or not body:
        raise InvalidRequest("Send a JSON object with one or more of: " + ", ".join(EDITABLE))
    unknown = sorted(set(body) - set(EDITABLE))
    if unknown:
        raise InvalidRequest(f"field '{unknown[0]}' cannot be changed; editable fields: "
                             + ", ".join(EDITABLE), param=unknown[0])
    pool = _pool()
    key = pool.get(key_id)
    try:
        changes = validate_entry(body, partial=True)
    except EntryError as exc:
        raise InvalidRequest(str(exc), param=exc.field) from None
    if key.provider == "openai-compatible" and "base_url" in changes and not changes["base_url"]:
        raise InvalidRequest("field 'base_url' is required for provider openai-compatible",
                             param="base_url")
    pool.update(key_id, changes)
    log.info("key edited id=%s fields=%s", key_id, ",".join(sorted(changes)))
    return jsonify(pool.public_key(key_id))


@bp.delete("/keys/<key_id>")
def delete_key(key_id: str):
    """Remove one key."""
    _pool().delete(key_id)
    log.info("key deleted id=%s", key_id)
    return "", 204


@bp.delete("/keys")
def delete_matching():
    """The original design's bulk delete: every key of a provider and model (and api_key)."""
    body = _json_body()
    if not isinstance(body, dict):
        raise InvalidRequest("Send a JSON object with 'provider' and 'model'.")
    provider = canonical_provider(body.get("provider"))
    if provider is None:
        raise InvalidRequest("field 'provider' is missing or unknown", param="provider")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("field 'model' must be a non-empty string", param="model")
    api_key = body.get("api_key")
    if api_key is not None and (not isinstance(api_key, str) or not api_key):
        raise InvalidRequest("field 'api_key' must be a non-empty string", param="api_key")
    deleted = _pool().delete_matching(provider, model.strip(), api_key)
    if not deleted:
        raise ProxyError("No key matched.", status=404, code="key_not_found")
    log.info("keys deleted provider=%s model=%s count=%d", provider, model, deleted)
    return jsonify({"deleted": deleted})


@bp.post("/keys/<key_id>/test")
def test_key(key_id: str):
    """Check the key with its provider's cheapest proving call and record the outcome."""
    pool = _pool()
    key = pool.get(key_id)
    result = probe_key(key, pool, current_app.config["PROXY"])
    return jsonify({**result, "key": pool.public_key(key_id)})


@bp.post("/keys/<key_id>/reset")
def reset_key(key_id: str):
    """Clear a cooldown or an invalid mark."""
    _pool().reset(key_id)
    return jsonify(_pool().public_key(key_id))


@bp.get("/providers")
def list_providers():
    """Supported providers with their default base URLs."""
    return jsonify({"providers": [
        {"name": name, "default_base_url": url, "base_url_required": url is None}
        for name, url in DEFAULT_BASE_URLS.items()]})


def _json_body():
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("The request body is not valid JSON.", code="invalid_json") from None
