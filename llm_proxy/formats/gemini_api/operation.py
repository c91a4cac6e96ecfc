"""The Gemini API operation: each attempt's key decides how the request goes upstream.

Gemini keys get the request as sent (passthrough), whatever the method. Other keys get a
translation: generating through chat (translated), token counts estimated by the proxy
(count_tokens), embeddings through OpenAI's `/embeddings` (embeddings); Anthropic and
DeepSeek have no embeddings endpoint, which is a 400 naming the provider.
"""
from __future__ import annotations

from ...errors import InvalidRequest
from ..openai_embeddings.operation import PASSTHROUGH_PROVIDERS as EMBEDDING_PROVIDERS
from ..routed import RoutedOperation
from .count_tokens import EstimateRoute
from .embeddings import OpenAIEmbedRoute
from .envelope import GEMINI
from .passthrough import GeminiRoute
from .request import BATCH_EMBED, COUNT, EMBED
from .translated import ChatRoute



class GeminiOperation(RoutedOperation):
    """POST /v1beta/models/{model}:{method} (and /v1/...)."""

    client = GEMINI

    def _make_route(self, provider: str, model: str, served: str):
        req = self.req
        if provider == "gemini":
            return GeminiRoute(req)
        if req.method in (EMBED, BATCH_EMBED):
            if provider not in EMBEDDING_PROVIDERS:
                raise InvalidRequest(f"The model '{served}' is served by {provider}, which "
                                     "has no embeddings endpoint.", param="model")
            return OpenAIEmbedRoute(req, provider, model)
        if req.method == COUNT:
            return EstimateRoute(req, provider, model)
        return ChatRoute(req, provider, model, served)
