"""Blueprint "messages": Anthropic's Messages API on the same key pool (SPEC §9)."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from . import formats, loop_guard
from .auth import bearer_token, token_matches
from .errors import LoopDetected, Unauthorized
from .formats.anthropic_messages import (MESSAGES, CountTokensOperation, MessagesOperation,
                                         parse_request)

bp = Blueprint("messages", __name__)


@bp.before_request
def _check_proxy_token():
    formats.use(MESSAGES)
    if request.method == "OPTIONS":
        return  # a browser's CORS preflight never carries credentials
    tokens = current_app.config["PROXY"].proxy_tokens
    # The anthropic SDKs send an API key as x-api-key, an auth token (Claude Code's
    # ANTHROPIC_AUTH_TOKEN) as a bearer token.
    if tokens and not token_matches(request.headers.get("x-api-key") or bearer_token(),
                                    tokens):
        raise Unauthorized("Missing or invalid proxy token. Send it as 'x-api-key: <token>' "
                           "or 'Authorization: Bearer <token>'.")
    if loop_guard.looped():
        raise LoopDetected()


@bp.post("/v1/messages")
def create_message():
    """Answer a Messages request from the requested model's key pool."""
    operation = MessagesOperation(parse_request())
    return current_app.extensions["llm_proxy.attempts"].serve(operation)


@bp.post("/v1/messages/count_tokens")
def count_tokens():
    """Count a Messages request's input tokens with the provider of the model's next key."""
    operation = CountTokensOperation(parse_request(count=True))
    return current_app.extensions["llm_proxy.attempts"].serve(operation)
