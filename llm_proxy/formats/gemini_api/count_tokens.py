"""countTokens for keys other than Gemini's: an estimate that is never below the count.

Other providers have no counting call, so the proxy answers itself with the upper bound of
llm_proxy.formats.anthropic_messages.estimate, taken over the chat body the request would
be sent as, and says so in a response header. The request is `contents`, or a whole
`generateContentRequest` (https://ai.google.dev/api/tokens#method:-models.counttokens);
the answer `{"totalTokens": n}`.
"""
from __future__ import annotations

import json

from ..anthropic_messages.count_tokens import ESTIMATE_HEADER
from ..anthropic_messages.estimate import estimate_tokens
from ..base import Answer
from .chat_request import chat_body
from .request import GeminiRequest


class EstimateRoute:
    """countTokens answered by the proxy itself, with an upper bound."""

    def __init__(self, req: GeminiRequest, provider: str, model: str):
        inner = req.body.get("generateContentRequest")
        body = {k: v for k, v in inner.items() if k != "model"} if isinstance(inner, dict) \
            else {"contents": req.body["contents"]}
        tokens = estimate_tokens(chat_body(body, provider, model).body, model)
        self.answered = Answer(json.dumps({"totalTokens": tokens}).encode())

    def upstream_request(self, lease) -> Answer:
        return self.answered

    def response_headers(self, lease) -> dict:
        return {ESTIMATE_HEADER: "estimate"}
