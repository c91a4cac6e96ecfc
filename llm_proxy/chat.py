"""Blueprint "chat": the OpenAI-compatible client routes."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from .auth import require_token
from . import loop_guard
from .errors import InvalidRequest, LoopDetected, ModelNotFound
from .providers.base import ChatRequest
from .request_body import read_body

bp = Blueprint("chat", __name__)


@bp.before_request
def _check_proxy_token():
    if request.method == "OPTIONS":
        return  # a browser's CORS preflight never carries credentials
    tokens = current_app.config["PROXY"].proxy_tokens
    if tokens:
        require_token(tokens, "proxy")
    if loop_guard.looped():
        raise LoopDetected()


@bp.post("/chat/completions")
@bp.post("/v1/chat/completions")
def chat_completions():
    """Answer a Chat Completions request from the requested model's key pool."""
    chat = parse_chat_request()
    return current_app.extensions["llm_proxy.forwarder"].handle(chat)


@bp.get("/models")
@bp.get("/v1/models")
def list_models():
    """OpenAI's model list: every model with at least one configured key."""
    pool = current_app.extensions["llm_proxy.pool"]
    data = [{"id": model, "object": "model", "created": 0, "owned_by": provider}
            for model, provider in pool.models()]
    return jsonify({"object": "list", "data": data})


@bp.get("/models/<path:model>")
@bp.get("/v1/models/<path:model>")
def get_model(model: str):
    """One model in OpenAI's format, or 404 model_not_found."""
    for name, provider in current_app.extensions["llm_proxy.pool"].models():
        if name == model:
            return jsonify({"id": name, "object": "model", "created": 0, "owned_by": provider})
    raise ModelNotFound(f"The model '{model}' does not exist in this proxy.", param="model")


def parse_chat_request() -> ChatRequest:
    """The request body as a validated ChatRequest, or InvalidRequest naming the problem."""
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise InvalidRequest(f"Content-Type must be application/json, got '{mimetype}'.",
                             code="invalid_content_type")
    raw = read_body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    model = body.get("model")
    if model is None:
        raise InvalidRequest("Missing required parameter: 'model'.", param="model",
                             code="missing_required_parameter")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("'model' must be a non-empty string.", param="model",
                             code="invalid_type")
    messages = body.get("messages")
    if messages is None:
        raise InvalidRequest("Missing required parameter: 'messages'.", param="messages",
                             code="missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array.", param="messages",
                             code="invalid_type")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"'messages[{i}]' must be an object.", param=f"messages[{i}]",
                                 code="invalid_type")
        if not isinstance(message.get("role"), str):
            raise InvalidRequest(f"'messages[{i}].role' must be a string.",
                                 param=f"messages[{i}].role", code="invalid_type")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be a boolean.", param="stream", code="invalid_type")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InvalidRequest("'stream_options' must be an object.", param="stream_options",
                             code="invalid_type")
    include_usage = bool(options and options.get("include_usage") is True)
    return ChatRequest(body=body, raw=raw, model=model, stream=stream,
                       include_usage=include_usage)
