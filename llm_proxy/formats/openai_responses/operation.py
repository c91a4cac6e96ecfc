"""The Responses operation: each attempt's key decides how the request goes upstream.

Providers whose API has the Responses endpoint get the request as sent (passthrough):
OpenAI, xAI Grok and OpenAI-compatible servers (vLLM, OpenRouter, Ollama serve it; one
that does not answers 404, which comes back as it is). DeepSeek's API has none, and
Anthropic and Gemini speak their own: they get the translation through chat.
"""
from __future__ import annotations

from ...providers.model_names import rename_to
from ..routed import RoutedOperation
from .envelope import RESPONSES
from .passthrough import PassthroughRoute
from .translated import ChatRoute

PASSTHROUGH_PROVIDERS = frozenset({"openai", "grok", "openai-compatible"})


class ResponsesOperation(RoutedOperation):
    """POST /v1/responses."""

    client = RESPONSES

    def _make_route(self, provider: str, model: str, served: str):
        if provider in PASSTHROUGH_PROVIDERS:
            return PassthroughRoute(self.req, provider, rename=rename_to(model, served))
        return ChatRoute(self.req, provider, model, served)
