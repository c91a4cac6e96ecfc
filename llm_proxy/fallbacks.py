"""Ordered fallbacks (SPEC §10): a request's comma-separated `model`, or an alias of
MODEL_FALLBACKS, names models tried in order, the next only when no key of the one before
could serve.

Names in a list are models, not aliases again: what a request names is what it gets.
"""
from __future__ import annotations

import json

from .config_error import ConfigError
from .errors import InvalidRequest

# More fallbacks than this in one request is no longer a priority list.
MAX_FALLBACKS = 16


def parse_fallbacks(raw: str | None) -> dict[str, tuple[str, ...]]:
    """MODEL_FALLBACKS as {alias: (model, ...)}, or ConfigError naming what is wrong."""
    if raw is None or not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ConfigError("MODEL_FALLBACKS is not valid JSON: it must be an object such as "
                          '{"smart": ["claude-sonnet-4-5", "gpt-4o"]}') from None
    if not isinstance(data, dict):
        raise ConfigError("MODEL_FALLBACKS must be a JSON object of alias: [models...]")
    out = {}
    for alias, models in data.items():
        if not alias.strip() or "," in alias:
            raise ConfigError(f"MODEL_FALLBACKS alias {alias!r} must be a non-empty name "
                              "without ','")
        if (not isinstance(models, list) or not models
                or not all(isinstance(m, str) and m.strip() and "," not in m for m in models)):
            raise ConfigError(f"MODEL_FALLBACKS alias {alias!r} must name a non-empty array "
                              "of model names (strings without ',')")
        if len(models) > MAX_FALLBACKS:
            raise ConfigError(f"MODEL_FALLBACKS alias {alias!r} names more than "
                              f"{MAX_FALLBACKS} models")
        names = tuple(m.strip() for m in models)
        if len(set(names)) != len(names):
            raise ConfigError(f"MODEL_FALLBACKS alias {alias!r} names a model twice")
        out[alias.strip()] = names
    return out


def models_of(requested: str, aliases: dict) -> tuple[str, ...] | None:
    """The models `requested` stands for, in order; None for a single model (the common
    case, which costs a dict lookup and a substring test)."""
    listed = aliases.get(requested)
    if listed is not None:
        return listed
    if "," not in requested:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in requested.split(",") if n.strip()))
    if not names:
        raise InvalidRequest("'model' names no model.", param="model", code="invalid_value")
    if len(names) > MAX_FALLBACKS:
        raise InvalidRequest(f"'model' names more than {MAX_FALLBACKS} fallback models.",
                             param="model", code="invalid_value")
    return names
