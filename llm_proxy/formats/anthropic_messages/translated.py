"""A Messages request to an OpenAI-style or Gemini key, through OpenAI chat as the pivot.

The Anthropic body becomes an OpenAI chat body for the target (chat_request), which the
chat format's own operation sends through the provider's adapter, as a chat client's
would go; its answer, whole or streamed, comes back as Anthropic's (from_chat,
chat_stream). One translation per direction serves every provider the chat format serves.
"""
from __future__ import annotations

import json
from typing import Iterator

from ...errors import UpstreamError
from ...providers.base import ChatRequest, StreamState, UpstreamRequest
from ...sse import SSEEvent
from ..base import Answer
from ..openai_chat import ChatOperation
from . import chat_stream
from .chat_request import chat_body
from .envelope import dumps
from .from_chat import message_body
from .request import MessagesRequest

# Says that max_tokens was lowered to the most the target model takes, and to what.
CAPPED_HEADER = "x-llm-proxy-max-tokens-capped"


def chat_request(body: dict, model: str, stream: bool) -> ChatRequest:
    """A ChatRequest for a translated body, as the chat route would have parsed it."""
    return ChatRequest(body=body, raw=dumps(body), model=model, stream=stream,
                       include_usage=stream)


class ChatRoute:
    """The operation's side for one provider and model other than Anthropic's."""

    def __init__(self, req: MessagesRequest, provider: str, model: str, served: str):
        plan = chat_body(req.body, provider, model)
        self.chat = ChatOperation(chat_request(plan.body, model, req.stream))
        self.headers = ({CAPPED_HEADER: str(plan.capped_max_tokens)}
                        if plan.capped_max_tokens else {})
        self.model = served  # the client's name of the model served, as the answer's

    def upstream_request(self, lease) -> UpstreamRequest:
        return self.chat.upstream_request(lease)

    def response_headers(self, lease) -> dict:
        return self.headers

    def answer(self, content: bytes) -> Answer:
        completion = self.chat.answer(content)
        message = message_body(json.loads(completion.body), self.model)
        return Answer(dumps(message), completion.usage)

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        return chat_stream.iter_events(self.chat.stream_payloads(events, state), self.model)

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return self.chat.upstream_error(status, content, headers)
