"""A Responses request to an Anthropic, Gemini or DeepSeek key, through OpenAI chat.

The Responses body becomes an OpenAI chat body for the target (chat_request), which the
chat format's own operation sends through the provider's adapter, as a chat client's
would go; its answer, whole or streamed, comes back as a Responses `response` (from_chat,
chat_stream). One translation per direction serves every provider the chat format serves.
"""
from __future__ import annotations

import json
from typing import Iterator

from ...errors import UpstreamError
from ...providers.base import StreamState, UpstreamRequest
from ...sse import SSEEvent
from ..anthropic_messages.translated import chat_request
from ..base import Answer, dumps
from ..openai_chat import ChatOperation
from . import chat_stream
from .chat_request import chat_body
from .from_chat import response_body
from .request import ResponsesRequest


class ChatRoute:
    """The operation's side for one provider and model whose API has no Responses."""

    def __init__(self, req: ResponsesRequest, provider: str, model: str, served: str):
        plan = chat_body(req.body, provider, model)
        self.chat = ChatOperation(chat_request(plan.body, model, req.stream))
        self.body = req.body
        self.namespaced = plan.namespaced
        self.model = served  # the client's name of the model served, as the answer's

    def upstream_request(self, lease) -> UpstreamRequest:
        return self.chat.upstream_request(lease)

    def response_headers(self, lease) -> dict:
        return {}

    def answer(self, content: bytes) -> Answer:
        completion = self.chat.answer(content)
        response = response_body(json.loads(completion.body), self.body, self.model,
                                 self.namespaced)
        return Answer(dumps(response), completion.usage)

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        return chat_stream.iter_events(self.chat.stream_payloads(events, state), self.body,
                                       self.model, self.namespaced)

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return self.chat.upstream_error(status, content, headers)
