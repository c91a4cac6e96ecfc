"""An operation whose way upstream is chosen per leased key: a route per provider and model.

A model's pool may mix providers, so the route is chosen for each attempt's key and kept
for the rest of that attempt: a key speaking the client's format gets the request as sent
(passthrough), others a translation. A route is made once per provider, upstream model
and client model (the one of a fallback list the key serves) and reused when failover
meets the same kind of key again.
"""
from __future__ import annotations

from typing import Iterator

from ..errors import InvalidRequest, UpstreamError
from ..providers.base import StreamState
from ..sse import SSEEvent
from .base import Answer, Operation


class RoutedOperation(Operation):
    """Subclasses set `client` and make the route for a (provider, wire model, served
    model) triple: `served` is the client's name of the model the key serves, which the
    answer carries."""

    def __init__(self, req):
        self.req = req
        self.model = req.model
        self.stream = req.stream
        self._routes: dict = {}
        self._route = None

    def _make_route(self, provider: str, model: str, served: str):
        raise NotImplementedError

    def upstream_request(self, lease):
        route_key = (lease.provider, lease.wire_model, lease.model)
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
