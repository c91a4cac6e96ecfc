"""Blueprint "chat": the OpenAI-compatible client routes."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import gemini_api
from .auth import bearer_token, guard_client_route
from .errors import ModelNotFound
from .formats.openai_chat import CHAT, ChatOperation, parse_chat_request

bp = Blueprint("chat", __name__)


@bp.before_request
def _check_proxy_token():
    if request.method == "GET" and gemini_api.google_style():
        gemini_api.check_google_token()  # Google's SDKs list models here too
        return
    guard_client_route(CHAT, bearer_token(), "'Authorization: Bearer <token>'")


@bp.post("/chat/completions")
@bp.post("/v1/chat/completions")
def chat_completions():
    """Answer a Chat Completions request from the requested model's key pool."""
    operation = ChatOperation(parse_chat_request())
    return current_app.extensions["llm_proxy.attempts"].serve(operation)


@bp.get("/models")
@bp.get("/v1/models")
def list_models():
    """OpenAI's model list: every model with at least one configured key (Gemini's list
    for a client that sends its key as Google's SDKs do)."""
    if gemini_api.google_style():
        return gemini_api.list_models()
    data = [{"id": model, "object": "model", "created": 0, "owned_by": provider}
            for model, provider in _models()]
    return jsonify({"object": "list", "data": data})


def _models() -> list[tuple[str, str]]:
    """(name, owner) of every model with a key, then every MODEL_FALLBACKS alias that is
    not one (owned by the proxy, which serves it from the models it names)."""
    models = current_app.extensions["llm_proxy.pool"].models()
    names = {name for name, _ in models}
    aliases = current_app.extensions["llm_proxy.attempts"].fallbacks
    return models + [(alias, "llm-proxy") for alias in aliases if alias not in names]


@bp.get("/models/<path:model>")
@bp.get("/v1/models/<path:model>")
def get_model(model: str):
    """One model in OpenAI's format, or 404 model_not_found (Gemini's for Google's SDKs)."""
    if gemini_api.google_style():
        return gemini_api.get_model(model)
    for name, provider in _models():
        if name == model:
            return jsonify({"id": name, "object": "model", "created": 0, "owned_by": provider})
    raise ModelNotFound(f"The model '{model}' does not exist in this proxy.", param="model")
