"""The Messages operations: each attempt's key decides how the request goes upstream.

A model's pool may mix providers, so the route is chosen per leased key, and kept for
the rest of that attempt: Anthropic keys get the request as sent (passthrough), others a
translation (translated, count_tokens). A route is made once per provider and model and
reused when failover meets the same kind of key again.
"""
from __future__ import annotations

from typing import Iterator

from ...errors import InvalidRequest, UpstreamError
from ...providers.base import StreamState
from ...sse import SSEEvent
from ..base import Answer, Operation
from .count_tokens import EstimateRoute, GeminiCountRoute
from .envelope import MESSAGES
from .passthrough import COUNT_PATH, AnthropicRoute
from .request import MessagesRequest
from .translated import ChatRoute


class _RoutedOperation(Operation):
    client = MESSAGES

    def __init__(self, req: MessagesRequest):
        self.req = req
        self.model = req.model
        self.stream = req.stream
        self._routes: dict = {}
        self._route = None

    def _make_route(self, provider: str, model: str):
        raise NotImplementedError

    def upstream_request(self, lease):
        route_key = (lease.provider, lease.wire_model)
        route = self._routes.get(route_key)
        if route is None:
            try:
                route = self._routes[route_key] = self._make_route(*route_key)
            except RecursionError:  # nesting the JSON parser only just accepted
                raise InvalidRequest("The request body is nested too deeply.") from None
        self._route = route
        return route.upstream_request(lease)

    def response_headers(self, lease) -> dict:
        return self._route.response_headers(lease)

    def answer(self, content: bytes) -> Answer:
        return self._route.answer(content)

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        return self._route.stream_payloads(events, state)

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return self._route.upstream_error(status, content, headers)


class MessagesOperation(_RoutedOperation):
    """POST /v1/messages."""

    def _make_route(self, provider: str, model: str):
        if provider == "anthropic":
            return AnthropicRoute(self.req)
        return ChatRoute(self.req, provider, model)


class CountTokensOperation(_RoutedOperation):
    """POST /v1/messages/count_tokens."""

    def _make_route(self, provider: str, model: str):
        if provider == "anthropic":
            return AnthropicRoute(self.req, COUNT_PATH)
        if provider == "gemini":
            return GeminiCountRoute(self.req, model)
        return EstimateRoute(self.req, provider, model)
