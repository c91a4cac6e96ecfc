"""A Gemini API request to an OpenAI-style or Anthropic key, through OpenAI chat as the pivot.

The GenerateContentRequest becomes an OpenAI chat body for the target (chat_request),
which the chat format's own operation sends through the provider's adapter, as a chat
client's would go; its answer, whole or streamed, comes back as Gemini's (from_chat,
chat_stream). The route is the Messages format's, with Gemini's translations.
"""
from __future__ import annotations

import json
from typing import Iterator

from ...providers.base import StreamState
from ...sse import SSEEvent
from ..anthropic_messages import translated
from ..base import Answer, dumps
from ..openai_chat import ChatOperation
from . import chat_stream
from .chat_request import chat_body
from .from_chat import response_body
from .request import GeminiRequest


class ChatRoute(translated.ChatRoute):
    """The operation's side for one provider and model other than Gemini's."""

    def __init__(self, req: GeminiRequest, provider: str, model: str, served: str):
        plan = chat_body(req.body, provider, model, req.stream)
        self.chat = ChatOperation(translated.chat_request(plan.body, model, req.stream))
        self.headers = ({translated.CAPPED_HEADER: str(plan.capped_max_tokens)}
                        if plan.capped_max_tokens else {})
        self.model = served  # the client's name of the model served, as modelVersion

    def answer(self, content: bytes) -> Answer:
        completion = self.chat.answer(content)
        return Answer(dumps(response_body(json.loads(completion.body), self.model)),
                      completion.usage)

    def stream_payloads(self, events: Iterator[SSEEvent], state: StreamState) -> Iterator[bytes]:
        return chat_stream.iter_events(self.chat.stream_payloads(events, state), self.model)
