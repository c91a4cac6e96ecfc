"""Refusing requests that went round in a circle: a key whose base_url leads back here.

Such a request would call the proxy again and again until every thread waits on another
and the whole server stops answering. Each upstream request carries, in a header, the ids
of the proxies it passed through (its own request's chain plus this one's random id); a
request arriving with this proxy's id in its chain went round, and is refused with 508.
"""
from __future__ import annotations

import secrets
import threading

HEADER = "X-LLM-Proxy-Loop"
# Made on first import, which gunicorn.conf.py does in the master: every worker shares
# it, so a loop that passes through another worker is caught too.
INSTANCE_ID = secrets.token_hex(8)
# Proxies chained in front of each other are fine; this many is surely a circle.
MAX_HOPS = 8

_local = threading.local()


def arrived(value: str | None) -> None:
    """Note the chain an incoming request came through (every request: none carries over)."""
    _local.chain = [hop for hop in (part.strip() for part in value.split(",")) if hop] \
        if value else []


def looped() -> bool:
    """True when this thread's request went round: this proxy in its chain, or too many hops."""
    chain = getattr(_local, "chain", None) or ()
    return INSTANCE_ID in chain or len(chain) >= MAX_HOPS


def outgoing() -> str:
    """The header value for an upstream request made on behalf of this thread's request."""
    chain = getattr(_local, "chain", None)
    return ",".join([*chain[:MAX_HOPS], INSTANCE_ID]) if chain else INSTANCE_ID


def ours(headers) -> bool:
    """True for a 508 that this very proxy answered (the loop is this proxy's own key)."""
    return headers is not None and headers.get(HEADER) == INSTANCE_ID
