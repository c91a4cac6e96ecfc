"""Google Gemini through its own API (v1beta generateContent), translated both ways.

Endpoints and auth per https://ai.google.dev/api/generate-content: the key goes in the
`x-goog-api-key` header, never in the URL, where logs and proxies would keep it.
"""
from __future__ import annotations

import json
from typing import Iterator
from urllib.parse import quote

from ...errors import AUTH, UpstreamError
from ..base import (Adapter, ChatRequest, Completion, SSEEvent, StreamState, UpstreamRequest,
                    _json_or_none, classify_status, clean_message, parse_duration,
                    retry_after_from_headers)
from . import stream as gemini_stream
from .messages import build_contents
from .params import function_declarations, generation_config, tool_config
from .response import completion

API_VERSION = "v1beta"

# OpenAI error types by status, for Google's errors (which carry a gRPC status instead).
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "invalid_request_error",
                429: "rate_limit_error"}


class GeminiAdapter(Adapter):
    provider = "gemini"

    def api_root(self, key) -> str:
        base = self.base_url(key)
        # Tolerate a base_url that already ends in the API version.
        return base if base.endswith("/" + API_VERSION) else f"{base}/{API_VERSION}"

    def method_request(self, key, path: str, method: str, body: bytes) -> UpstreamRequest:
        """A non-streamed call of a model's method (`models/x:countTokens`...)."""
        return UpstreamRequest(
            url=f"{self.api_root(key)}/{path}:{method}",
            headers={"x-goog-api-key": key.api_key, "Content-Type": "application/json",
                     "Accept": "application/json"},
            body=body)

    def build_request(self, chat: ChatRequest, key) -> UpstreamRequest:
        method = "streamGenerateContent?alt=sse" if chat.stream else "generateContent"
        return UpstreamRequest(
            url=f"{self.api_root(key)}/{model_path(key.wire_model)}:{method}",
            headers={"x-goog-api-key": key.api_key, "Content-Type": "application/json",
                     "Accept": "text/event-stream" if chat.stream else "application/json"},
            body=json.dumps(request_body(chat.body, key.wire_model),
                            separators=(",", ":")).encode())

    def parse_response(self, chat: ChatRequest, content: bytes) -> Completion:
        body = completion(chat.model, json.loads(content))
        return Completion(body=json.dumps(body).encode(), usage=body.get("usage"))

    def iter_chunks(self, chat: ChatRequest, events: Iterator[SSEEvent],
                    state: StreamState) -> Iterator[bytes]:
        return gemini_stream.iter_chunks(chat.model, chat.include_usage, events, state)

    def probe_request(self, key) -> UpstreamRequest:
        return UpstreamRequest(url=f"{self.api_root(key)}/models?pageSize=1", method="GET",
                               headers={"x-goog-api-key": key.api_key})

    def parse_error(self, status: int, content: bytes, headers) -> UpstreamError:
        """Google's {"error": {code, message, status, details}} in OpenAI's envelope."""
        error = _google_error(_json_or_none(content))
        details = error.get("details") if isinstance(error.get("details"), list) else []
        details = [d for d in details if isinstance(d, dict)]
        failure, type_ = classify_status(status), _ERROR_TYPES.get(status)
        code = error.get("status").lower() if isinstance(error.get("status"), str) else None
        # A bad, expired or blocked key is a 400 or 403 with an ErrorInfo reason API_KEY_*.
        if any(str(d.get("reason", "")).startswith("API_KEY_") for d in details):
            failure, type_, code = AUTH, "authentication_error", "invalid_api_key"
        retry_after = None
        if status == 429:
            code = "rate_limit_exceeded"
            delays = [parse_duration(d.get("retryDelay")) for d in details
                      if isinstance(d.get("retryDelay"), str)]
            retry_after = next((d for d in delays if d is not None), None) \
                or retry_after_from_headers(headers)
        message = error.get("message") if isinstance(error.get("message"), str) else None
        return UpstreamError(clean_message(message) or f"Gemini answered HTTP {status}.",
                             status=status, type=type_, code=code,
                             failure=failure, retry_after=retry_after)


def model_path(model: str) -> str:
    """`models/{model}` (or a tuned model's own path), the id quoted so it stays one segment."""
    collection, _, name = model.partition("/")
    if collection not in ("models", "tunedModels") or not name:
        collection, name = "models", model
    return f"{collection}/{quote(name, safe='')}"


def request_body(body: dict, model: str = "") -> dict:
    """The GenerateContentRequest for an OpenAI Chat Completions body (left unchanged)."""
    system, contents = build_contents(body["messages"])
    declarations = function_declarations(body.get("tools"))
    out: dict = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
    choice = tool_config(body.get("tool_choice"), declarations)
    if choice:
        out["toolConfig"] = choice
    config = generation_config(body, model)
    if config:
        out["generationConfig"] = config
    return out


def _google_error(payload) -> dict:
    # Streaming endpoints without alt=sse wrap the error in a one-element array.
    if isinstance(payload, list) and payload:
        payload = payload[0]
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}
