"""Bearer-token checks for the client routes (PROXY_TOKENS) and the admin routes."""
from __future__ import annotations

import hmac

from flask import request

from .errors import Unauthorized


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_matches(given: str | None, allowed) -> bool:
    """Constant-time comparison against every allowed token (no early exit on a match)."""
    if given is None:
        return False
    given_bytes = given.encode()
    matched = False
    for token in allowed:
        matched |= hmac.compare_digest(given_bytes, token.encode())
    return matched


def require_token(allowed, what: str) -> None:
    """Raise Unauthorized unless the request carries one of `allowed` as bearer token."""
    if not token_matches(bearer_token(), allowed):
        raise Unauthorized(f"Missing or invalid bearer token for the {what}. Send "
                           "'Authorization: Bearer <token>'.")
