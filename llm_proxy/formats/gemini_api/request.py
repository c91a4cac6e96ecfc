"""A client's Gemini API request, read from its URL and body as far as routing it needs.

The model and method come from the URL, `models/{model}:{method}`
(https://ai.google.dev/api/generate-content, /api/tokens, /api/embeddings); the body is
checked for what each method requires. A Gemini key gets the body as sent and Gemini
judges the rest; other keys' translations check what they read.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from ...errors import InvalidRequest, NotFound
from ..openai_chat import read_json_object
from .field_names import normalized

GENERATE = "generateContent"
STREAM = "streamGenerateContent"
COUNT = "countTokens"
EMBED = "embedContent"
BATCH_EMBED = "batchEmbedContents"
METHODS = (GENERATE, STREAM, COUNT, EMBED, BATCH_EMBED)
# The request message each method takes.
MESSAGES = {GENERATE: "GenerateContentRequest", STREAM: "GenerateContentRequest",
            COUNT: "CountTokensRequest", EMBED: "EmbedContentRequest",
            BATCH_EMBED: "BatchEmbedContentsRequest"}


@dataclass(frozen=True)
class GeminiRequest:
    """A Gemini API request: the URL's model and method, the parsed body (never mutated,
    its field names in lowerCamelCase) and its bytes as sent."""
    body: dict
    raw: bytes
    model: str
    method: str
    stream: bool


def split_target(target: str) -> tuple[str, str]:
    """(model, method) of the URL's `{model}:{method}`; the model may say `models/` too."""
    name, colon, method = target.rpartition(":")
    name = name.removeprefix("models/")
    if not colon or not name or "/" in name:
        raise NotFound(f"No such route: this proxy serves POST /v1beta/models/{{model}}:"
                       f"{{method}} with a method among {', '.join(METHODS)}.")
    if method not in METHODS:
        raise NotFound(f"The method '{method}' is not served by this proxy: use one of "
                       f"{', '.join(METHODS)}.")
    return name, method


def parse_request(target: str) -> GeminiRequest:
    """The current request as a GeminiRequest, or a Google-style 400/404 naming the field."""
    model, method = split_target(target)
    body, raw = read_json_object()
    body = normalized(body, MESSAGES[method])
    if method in (GENERATE, STREAM):
        _contents(body.get("contents"), "contents")
    elif method == COUNT:
        inner = body.get("generateContentRequest")
        if inner is not None:
            if not isinstance(inner, dict):
                raise InvalidRequest("generateContentRequest: must be an object.",
                                     param="generateContentRequest")
            _contents(inner.get("contents"), "generateContentRequest.contents")
        else:
            _contents(body.get("contents"), "contents")
    elif method == EMBED:
        if not isinstance(body.get("content"), dict):
            raise InvalidRequest("content: must be a Content object (required).",
                                 param="content")
    else:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests or \
                not all(isinstance(r, dict) for r in requests):
            raise InvalidRequest("requests: must be a non-empty array of EmbedContentRequest "
                                 "objects.", param="requests")
    stream = method == STREAM
    if stream and request.args.get("alt") != "sse":
        # Without alt=sse Google streams one JSON array; every SDK asks for SSE.
        raise InvalidRequest("streamGenerateContent is served as Server-Sent Events only: "
                             "add ?alt=sse to the URL.", param="alt")
    return GeminiRequest(body=body, raw=raw, model=model, method=method, stream=stream)


def _contents(contents, where: str) -> None:
    if not isinstance(contents, list) or not contents:
        raise InvalidRequest(f"{where}: contents is not specified (a non-empty array of "
                             "Content objects).", param=where)
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            raise InvalidRequest(f"{where}[{i}]: must be a Content object.",
                                 param=f"{where}[{i}]")
