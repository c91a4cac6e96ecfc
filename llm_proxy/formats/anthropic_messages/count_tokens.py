"""count_tokens for keys other than Anthropic's: Gemini's own count, or an estimate.

Gemini counts with `models/{model}:countTokens`, given the whole GenerateContentRequest
(system instruction and tools included) as `generateContentRequest`, which must name its
model (https://ai.google.dev/api/tokens#method:-models.counttokens); it answers
`{"totalTokens": n}`. Other providers have no counting call: the proxy answers with an
upper bound (estimate.py), and says so in a response header.
"""
from __future__ import annotations

import json

from ...errors import UpstreamError
from ...providers import adapter_for
from ...providers.base import UpstreamRequest
from ...providers.gemini.adapter import model_path, request_body
from ..base import Answer
from .chat_request import chat_body
from .envelope import dumps
from .estimate import estimate_tokens
from .request import MessagesRequest

ESTIMATE_HEADER = "x-llm-proxy-token-count"


def _count(tokens: int) -> Answer:
    return Answer(json.dumps({"input_tokens": tokens}).encode())


class GeminiCountRoute:
    """count_tokens through Gemini's countTokens, via the chat translation."""

    def __init__(self, req: MessagesRequest, model: str):
        chat = chat_body(req.body, "gemini", model).body
        self.path = model_path(model)
        self.body = dumps({"generateContentRequest": {"model": self.path,
                                                      **request_body(chat, model)}})

    def upstream_request(self, lease) -> UpstreamRequest:
        return adapter_for("gemini").method_request(lease, self.path, "countTokens", self.body)

    def response_headers(self, lease) -> dict:
        return {}

    def answer(self, content: bytes) -> Answer:
        payload = json.loads(content)
        total = payload.get("totalTokens") if isinstance(payload, dict) else None
        if not isinstance(total, int) or isinstance(total, bool):
            raise ValueError("not a CountTokensResponse")
        return _count(total)

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return adapter_for("gemini").parse_error(status, content, headers)


class EstimateRoute:
    """count_tokens answered by the proxy itself, with an upper bound."""

    def __init__(self, req: MessagesRequest, provider: str, model: str):
        self.answered = _count(estimate_tokens(chat_body(req.body, provider, model).body,
                                               model))

    def upstream_request(self, lease) -> Answer:
        return self.answered

    def response_headers(self, lease) -> dict:
        return {ESTIMATE_HEADER: "estimate"}
