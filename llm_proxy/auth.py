"""Bearer-token checks for the client routes (PROXY_TOKENS) and the admin routes."""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request

from . import formats, loop_guard
from .errors import LoopDetected, Unauthorized


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _digest(token: str) -> bytes:
    # Comparing fixed-length digests keeps the time independent of the tokens' lengths too.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def token_matches(given: str | None, allowed) -> bool:
    """Constant-time comparison against every allowed token (no early exit on a match)."""
    given_digest = _digest(given or "")
    matched = False
    for token in allowed:
        if token:
            matched |= hmac.compare_digest(given_digest, _digest(token))
    return matched and given is not None


def require_token(allowed, what: str) -> None:
    """Raise Unauthorized unless the request carries one of `allowed` as bearer token."""
    if not token_matches(bearer_token(), allowed):
        raise Unauthorized(f"Missing or invalid bearer token for the {what}. Send "
                           "'Authorization: Bearer <token>'.")


def is_cors_preflight() -> bool:
    """A browser's CORS preflight: it never carries credentials, so it cannot be checked."""
    return (request.method == "OPTIONS"
            and "Access-Control-Request-Method" in request.headers)


def guard_client_route(client, token: str | None, how: str) -> None:
    """What every client route does first: answer its errors in `client`'s envelope, then
    (CORS preflights aside, which never carry credentials) check the proxy token, sent as
    `how` says, and refuse a request that came round in a loop."""
    formats.use(client)
    if request.method == "OPTIONS":
        return
    tokens = current_app.config["PROXY"].proxy_tokens
    if tokens and not token_matches(token, tokens):
        raise Unauthorized(f"Missing or invalid proxy token. Send {how}.")
    if loop_guard.looped():
        raise LoopDetected()
