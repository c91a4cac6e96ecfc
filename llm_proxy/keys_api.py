"""Blueprint "keys": the admin JSON API over the key pool (bearer ADMIN_TOKEN).

Every path under /api needs the admin token, unknown ones too, checked before routing
answers 404 or 405: without the token nothing tells which routes or key ids exist.
Request bodies here carry secrets, so they are never logged or echoed.
"""
from __future__ import annotations

import json
import logging
import re

from flask import Blueprint, current_app, jsonify, request

from .auth import is_cors_preflight, require_token
from .errors import InvalidRequest, NotFound
from .key_entries import ENTRY_FIELDS, ROUTING_FIELDS, EntryError, validate_entry
from .key_view import public_view
from .pool import KeyPool
from .providers import ALIASES, DEFAULT_BASE_URLS
from .request_body import read_body
from .upstream_probe import probe_key

log = logging.getLogger(__name__)

bp = Blueprint("keys", __name__, url_prefix="/api")

EDITABLE = ("api_key", "base_url", "enabled", "model", *ROUTING_FIELDS)
DELETE_FIELDS = ("provider", "model", "api_key")


@bp.before_app_request
def _require_admin_token():
    path = request.path
    if path != "/api" and not path.startswith("/api/"):
        return None
    if is_cors_preflight():
        return None
    require_token((current_app.config["PROXY"].admin_token,), "admin API")
    return None


def _pool() -> KeyPool:
    return current_app.extensions["llm_proxy.pool"]


@bp.get("/keys")
def list_keys():
    """Every key, masked, with status, cooldown and statistics, and where keys live."""
    pool = _pool()
    shared = getattr(pool, "shared", None)
    store = {"kind": "memory"} if shared is None else {"kind": "redis", "shared": shared}
    return jsonify({"keys": pool.public_keys(), "store": store})


@bp.post("/keys")
def add_keys():
    """Add one entry, or an array of entries all or nothing; 409 on a duplicate."""
    body = _json_body()
    many = isinstance(body, list)
    items = body if many else [body]
    if not items:
        raise InvalidRequest("Send one key entry or a non-empty array of them.")
    entries = []
    for i, item in enumerate(items):
        where = f"entry {i}: " if many else ""
        _refuse_unknown_fields(item, ENTRY_FIELDS, where)
        try:
            entries.append(validate_entry(item))
        except EntryError as exc:
            raise InvalidRequest(f"{where}{exc}", param=exc.field) from None
    pool = _pool()
    keys = pool.add(entries, source="api")
    now = pool.now()
    created = [public_view(k, now) for k in keys]
    log.info("keys added count=%d ids=%s", len(keys), ",".join(k.id for k in keys))
    return jsonify({"keys": created} if many else created[0]), 201


@bp.get("/keys/<key_id>")
def get_key(key_id: str):
    """One key, masked."""
    return jsonify(_pool().public_key(key_id))


@bp.patch("/keys/<key_id>")
def edit_key(key_id: str):
    """Change a key's api_key, base_url, enabled flag, model or routing fields."""
    pool = _pool()
    key = pool.get(key_id)
    body = _json_body()
    if not isinstance(body, dict) or not body:
        raise InvalidRequest("Send a JSON object with one or more of: " + ", ".join(EDITABLE))
    _refuse_unknown_fields(body, EDITABLE)
    try:
        changes = validate_entry(body, partial=True, provider=key.provider)
    except EntryError as exc:
        raise InvalidRequest(str(exc), param=exc.field) from None
    pool.update(key_id, changes)
    log.info("key edited key=%s fields=%s", key_id, ",".join(sorted(changes)))
    return jsonify(pool.public_key(key_id))


@bp.delete("/keys/<key_id>")
def delete_key(key_id: str):
    """Remove one key; requests that start afterwards never use it."""
    _pool().delete(key_id)
    log.info("key deleted key=%s", key_id)
    return "", 204


@bp.delete("/keys")
def delete_matching():
    """The original design's delete: every key of a provider and model (and api_key)."""
    body = _json_body(empty_ok=True)
    if not isinstance(body, dict):
        raise InvalidRequest("Send a JSON object with 'provider' and 'model' (and optionally "
                             "'api_key').", param="provider")
    _refuse_unknown_fields(body, DELETE_FIELDS)
    for name in ("provider", "model"):
        if name not in body:
            raise InvalidRequest(f"field '{name}' is missing", param=name)
    try:
        match = validate_entry(body, partial=True)
    except EntryError as exc:
        raise InvalidRequest(str(exc), param=exc.field) from None
    deleted = _pool().delete_matching(match["provider"], match["model"], match.get("api_key"))
    if not deleted:
        raise NotFound("No key matched.", code="key_not_found")
    log.info("keys deleted provider=%s model=%s count=%d", match["provider"],
             match["model"], deleted)
    return jsonify({"deleted": deleted})


@bp.post("/keys/<key_id>/test")
def test_key(key_id: str):
    """Check the key with its provider's cheapest proving call and record the outcome."""
    pool = _pool()
    result = probe_key(pool.lease(key_id), pool, current_app.config["PROXY"])
    # The answer is 200 either way: a 401 here would read as a wrong admin token.
    return jsonify({**result, "key": pool.public_key(key_id)})


@bp.post("/keys/<key_id>/reset")
def reset_key(key_id: str):
    """Clear a cooldown or an invalid mark."""
    pool = _pool()
    pool.reset(key_id)
    log.info("key reset key=%s", key_id)
    return jsonify(pool.public_key(key_id))


@bp.get("/providers")
def list_providers():
    """Supported providers with their default base URLs."""
    aliases: dict[str, list] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    return jsonify({"providers": [
        {"name": name, "default_base_url": url, "base_url_required": url is None,
         "aliases": aliases.get(name, [])}
        for name, url in DEFAULT_BASE_URLS.items()]})


def _json_body(empty_ok: bool = False):
    raw = read_body()
    if empty_ok and not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        # Never quote the body: it may hold a key.
        raise InvalidRequest("The request body is not valid JSON.", code="invalid_json") from None


# A field name that is not a plain word could be a secret pasted in the wrong place.
_PLAIN_NAME = re.compile(r"[A-Za-z_-]{1,32}")


def _refuse_unknown_fields(item, allowed, where: str = "") -> None:
    if not isinstance(item, dict):
        return
    unknown = [name for name in item if name not in allowed]
    if not unknown:
        return
    name = unknown[0]
    shown = f"'{name}'" if _PLAIN_NAME.fullmatch(name) else "(name not shown)"
    raise InvalidRequest(f"{where}field {shown} is not accepted here; accepted fields: "
                         + ", ".join(allowed),
                         param=name if _PLAIN_NAME.fullmatch(name) else None)
