"""Blueprint "messages": Anthropic's Messages API on the same key pool (SPEC §9)."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.exceptions import MethodNotAllowed

from .auth import bearer_token, guard_client_route
from .errors import NotFound
from .formats.anthropic_messages import (MESSAGES, CountTokensOperation, MessagesOperation,
                                         parse_request)

bp = Blueprint("messages", __name__)


@bp.before_request
def _check_proxy_token():
    # The anthropic SDKs send an API key as x-api-key, an auth token (Claude Code's
    # ANTHROPIC_AUTH_TOKEN) as a bearer token.
    guard_client_route(MESSAGES, request.headers.get("x-api-key") or bearer_token(),
                       "'x-api-key: <token>' or 'Authorization: Bearer <token>'")


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


# Routed here, rather than left to Flask's routing errors, so that they too answer in
# Anthropic's envelope (the format is chosen by this blueprint).
_OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE"]


@bp.route("/v1/messages", methods=_OTHER_METHODS)
@bp.route("/v1/messages/count_tokens", methods=_OTHER_METHODS)
def wrong_method():
    """Only POST is served here."""
    raise MethodNotAllowed(valid_methods=["POST"])


@bp.route("/v1/messages/<path:rest>", methods=["POST", *_OTHER_METHODS])
def unknown_route(rest: str):
    """Other Messages API routes (batches...) are not served by this proxy."""
    raise NotFound("No such route: this proxy serves POST /v1/messages and "
                   "/v1/messages/count_tokens.")
