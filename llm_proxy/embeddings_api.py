"""Blueprint "embeddings": OpenAI's embeddings API on the same key pool (SPEC §9)."""
from __future__ import annotations

from flask import Blueprint, current_app

from .auth import bearer_token, guard_client_route
from .formats.openai_embeddings import EMBEDDINGS, EmbeddingsOperation, parse_request

bp = Blueprint("embeddings", __name__)


@bp.before_request
def _check_proxy_token():
    guard_client_route(EMBEDDINGS, bearer_token(), "'Authorization: Bearer <token>'")


@bp.post("/embeddings")
@bp.post("/v1/embeddings")
def create_embeddings():
    """Answer an embeddings request from the requested model's key pool."""
    operation = EmbeddingsOperation(parse_request())
    return current_app.extensions["llm_proxy.attempts"].serve(operation)
