"""The Messages operations: each attempt's key decides how the request goes upstream.

Anthropic keys get the request as sent (passthrough), others a translation (translated,
count_tokens); llm_proxy.formats.routed chooses and keeps the route per key.
"""
from __future__ import annotations

from ...providers.model_names import rename_to
from ..routed import RoutedOperation
from .count_tokens import EstimateRoute, GeminiCountRoute
from .envelope import MESSAGES
from .passthrough import COUNT_PATH, AnthropicRoute
from .translated import ChatRoute


class _RoutedOperation(RoutedOperation):
    client = MESSAGES


class MessagesOperation(_RoutedOperation):
    """POST /v1/messages."""

    def _make_route(self, provider: str, model: str, served: str):
        if provider == "anthropic":
            return AnthropicRoute(self.req, rename=rename_to(model, served))
        return ChatRoute(self.req, provider, model, served)


class CountTokensOperation(_RoutedOperation):
    """POST /v1/messages/count_tokens."""

    def _make_route(self, provider: str, model: str, served: str):
        if provider == "anthropic":
            return AnthropicRoute(self.req, COUNT_PATH)
        if provider == "gemini":
            return GeminiCountRoute(self.req, model)
        return EstimateRoute(self.req, provider, model)
