"""Blueprint "responses": OpenAI's Responses API on the same key pool (SPEC §9)."""
from __future__ import annotations

from flask import Blueprint, current_app

from .auth import bearer_token, guard_client_route
from .formats.openai_responses import RESPONSES, ResponsesOperation, parse_request

bp = Blueprint("responses", __name__)


@bp.before_request
def _check_proxy_token():
    guard_client_route(RESPONSES, bearer_token(), "'Authorization: Bearer <token>'")


@bp.post("/responses")
@bp.post("/v1/responses")
def create_response():
    """Answer a Responses request from the requested model's key pool."""
    operation = ResponsesOperation(parse_request())
    return current_app.extensions["llm_proxy.attempts"].serve(operation)
