"""Blueprint "gemini": Gemini's own API on the same key pool (SPEC §9).

`POST /v1beta/models/{model}:{method}` (and `/v1/...`) for generateContent,
streamGenerateContent, countTokens, embedContent and batchEmbedContents, and the model
listing, with the proxy token sent as Google's SDKs send an API key.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import MethodNotAllowed

from . import formats
from .auth import bearer_token, guard_client_route, token_matches
from .errors import ModelNotFound, NotFound, Unauthorized
from .formats.gemini_api import GEMINI, GeminiOperation, parse_request
from .formats.gemini_api.models import model_entry, model_list

bp = Blueprint("gemini", __name__)

HOW = "'x-goog-api-key: <token>', '?key=<token>' or 'Authorization: Bearer <token>'"


def google_token() -> str | None:
    """The proxy token as Google's SDKs send a key (x-goog-api-key, ?key=), else a bearer."""
    return (request.headers.get("x-goog-api-key") or request.args.get("key")
            or bearer_token())


def google_style() -> bool:
    """Whether the client sends its key as Google's SDKs do and no Authorization header:
    then it expects Google's shapes, also from the routes OpenAI's clients share."""
    return "Authorization" not in request.headers and (
        "x-goog-api-key" in request.headers or "key" in request.args)


def check_google_token() -> None:
    """The proxy token check in Google's terms: none sent is 401 UNAUTHENTICATED, a wrong
    one 403 PERMISSION_DENIED, each in Google's envelope."""
    formats.use(GEMINI)
    tokens = current_app.config["PROXY"].proxy_tokens
    token = google_token()
    if tokens and token and request.method != "OPTIONS" and not token_matches(token, tokens):
        raise Unauthorized(f"The proxy token is not valid. Send {HOW}.", status=403)
    guard_client_route(GEMINI, token, HOW)


@bp.before_request
def _check_proxy_token():
    check_google_token()


@bp.post("/v1beta/models/<path:target>")
@bp.post("/v1/models/<path:target>")
def call_model(target: str):
    """generateContent, streamGenerateContent, countTokens, embedContent or
    batchEmbedContents of the URL's model, from its key pool."""
    operation = GeminiOperation(parse_request(target))
    return current_app.extensions["llm_proxy.attempts"].serve(operation)


@bp.get("/v1beta/models")
def list_models():
    """Gemini's model list: every model with at least one configured key."""
    return jsonify(model_list(current_app.extensions["llm_proxy.pool"].models()))


@bp.get("/v1beta/models/<path:model>")
def get_model(model: str):
    """One model in Gemini's shape, or Google's 404."""
    return jsonify(find_model(model))


def find_model(model: str) -> dict:
    name = model.removeprefix("models/")
    for configured, provider in current_app.extensions["llm_proxy.pool"].models():
        if configured == name:
            return model_entry(configured, provider)
    raise ModelNotFound(f"models/{name} is not found in this proxy.", param="model")


_OTHER_METHODS = ["PUT", "PATCH", "DELETE"]


@bp.route("/v1beta/models", methods=["POST", *_OTHER_METHODS])
@bp.route("/v1beta/models/<path:target>", methods=_OTHER_METHODS)
def wrong_method(target: str = ""):
    """Routed here, rather than left to Flask, so that Google's envelope answers."""
    raise MethodNotAllowed(valid_methods=["GET", "POST"] if target else ["GET"])


@bp.route("/v1beta", methods=["GET", "POST", *_OTHER_METHODS])
@bp.route("/v1beta/<path:rest>", methods=["GET", "POST", *_OTHER_METHODS])
def unknown_route(rest: str = ""):
    """Other Gemini API routes (files, cached contents, tuned models...) are not served."""
    raise NotFound("No such route: this proxy serves /v1beta/models and POST "
                   "/v1beta/models/{model}:{method}.")
