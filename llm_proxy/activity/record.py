"""One request's record and its usage counts, built once from the attempt loop's values.

A record holds what an operator asks of a request (which keys it tried and why it passed
over others, how it ended, how long it took, how many tokens): ids, kinds and numbers,
never a body, a prompt, a secret or an upstream message.
"""
from __future__ import annotations

import os
from typing import NamedTuple

from ..pool.lease import CLIENT_GONE, NOT_SENT, OK

# Client-sent names are kept only this long (a model asked for that does not exist).
NAME_CHARS = 100
SEP = "\x1f"  # between scope, name and counter in a usage field: in no model name or id

TOTAL, MODEL, KEY = "total", "model", "key"


class Attempt(NamedTuple):
    """One key tried for a request, and the kind of its outcome (pool.lease's kinds)."""
    key_id: str
    provider: str
    outcome: str


def build(*, time: float, client_format: str, model: str, stream: bool, status: int,
          error: str | None, seconds: float, attempts: list, skipped: tuple,
          served, usage: dict | None, request_id: str | None, known_model: bool) -> dict:
    """The JSON-ready record of one finished request.

    `served` is the lease that answered (None when no key did), `skipped` the pool's Skip
    values of every acquire of the request, `known_model` False when the pool has no key
    for `model`.
    """
    prompt, completion = tokens_of(usage)
    return {
        "id": os.urandom(6).hex(),  # names the record on the page across refreshes
        "time": round(time, 3),
        "format": client_format,
        "model": model[:NAME_CHARS],
        "known_model": known_model,
        "served_model": served.model if served is not None else None,
        "served_key": served.id if served is not None else None,
        "provider": served.provider if served is not None else None,
        "stream": stream,
        "status": status,
        "error": error,
        "latency_ms": round(seconds * 1000, 1),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "request_id": request_id[:NAME_CHARS] if request_id else None,
        "attempts": [{"key": a.key_id, "provider": a.provider, "outcome": a.outcome}
                     for a in attempts],
        "skipped": skipped_view(skipped, attempts),
    }


def skipped_view(skipped: tuple, attempts: list) -> list[dict]:
    """Each key passed over, once (the first reason given), unless it was tried after."""
    if not skipped:
        return []
    tried = {a.key_id for a in attempts}
    seen: set = set()
    out = []
    for skip in skipped:
        if skip.key_id in seen or skip.key_id in tried:
            continue
        seen.add(skip.key_id)
        out.append({"key": skip.key_id, "reason": skip.reason, "until": skip.until})
    return out


def tokens_of(usage: dict | None) -> tuple[int, int]:
    """(prompt, completion) tokens of an OpenAI-style usage object; 0 for what it lacks."""
    if not usage:
        return 0, 0
    return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def field(scope: str, name: str, counter: str) -> str:
    return f"{scope}{SEP}{name}{SEP}{counter}"


def split_field(name: str) -> tuple[str, str, str] | None:
    parts = name.split(SEP)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def usage_counts(record: dict, model: str | None = None) -> dict[str, int]:
    """What `record` adds to its minute: per request (in total and for `model`, the pool's
    model it was served by or tried last, when the pool knows it) and per attempt on each
    key; tokens go to the key that answered."""
    counts: dict[str, int] = {}
    prompt, completion = record["prompt_tokens"], record["completion_tokens"]
    error = record["error"]
    scopes = [(TOTAL, "")]
    if record["known_model"]:
        scopes.append((MODEL, (model or record["model"])[:NAME_CHARS]))
    for scope, name in scopes:
        _add(counts, field(scope, name, "requests"), 1)
        if error:
            _add(counts, field(scope, name, "errors." + error), 1)
        _add(counts, field(scope, name, "prompt_tokens"), prompt)
        _add(counts, field(scope, name, "completion_tokens"), completion)
    attempts = record["attempts"]
    for i, attempt in enumerate(attempts):
        outcome = attempt["outcome"]
        if outcome == NOT_SENT:
            continue  # taken back by the pool: the key never saw it
        key = attempt["key"]
        _add(counts, field(KEY, key, "requests"), 1)
        if outcome not in (OK, CLIENT_GONE):
            _add(counts, field(KEY, key, "errors." + outcome), 1)
        if i == len(attempts) - 1:
            _add(counts, field(KEY, key, "prompt_tokens"), prompt)
            _add(counts, field(KEY, key, "completion_tokens"), completion)
    return counts


def _add(counts: dict, name: str, value: int) -> None:
    if value:
        counts[name] = counts.get(name, 0) + value
