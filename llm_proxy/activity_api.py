"""Blueprint "activity": per-minute usage and recent request records (bearer ADMIN_TOKEN,
checked for every /api path by the keys blueprint)."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, request

from .activity import HORIZON_MINUTES, RECORDS_KEPT
from .errors import InvalidRequest

bp = Blueprint("activity", __name__, url_prefix="/api")

_DIGITS = re.compile(r"[0-9]{1,9}")


def _activity():
    return current_app.extensions["llm_proxy.activity"]


@bp.get("/usage")
def usage():
    """Per-minute series by model and by key for the last `minutes` (at most the ring's)."""
    minutes = _count_param("minutes", 60, HORIZON_MINUTES)
    return jsonify(_activity().usage(minutes))


@bp.get("/requests")
def recent_requests():
    """The most recent request records, newest first, at most `limit` (capped)."""
    limit = _count_param("limit", 200, RECORDS_KEPT)
    records = _activity().recent(limit)
    return jsonify({"requests": records, "limit": limit, "kept": RECORDS_KEPT})


def _count_param(name: str, default: int, most: int) -> int:
    """A positive whole number from the query string; above `most` it is `most` (the
    answer says which it used)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or int(raw) < 1:
        raise InvalidRequest(f"'{name}' must be a whole number from 1 to {most}.",
                             param=name)
    return min(int(raw), most)
