"""OpenAI's Responses API as a client format: stream framing and the error envelope.

Errors are OpenAI's `{"error": {"message", "type", "param", "code"}}` with its statuses
(https://platform.openai.com/docs/guides/error-codes). Streams are Server-Sent Events
whose `event:` line names the event type, each data a JSON object with that `type` and a
`sequence_number` (https://platform.openai.com/docs/api-reference/responses-streaming);
a stream that breaks ends with an `error` event.
"""
from __future__ import annotations

from ...errors import ProxyError
from ..base import NamedEventFormat, named_event
from ..openai_chat import openai_error


class ResponsesFormat(NamedEventFormat):
    name = "openai-responses"

    def stream_error(self, message: str) -> bytes:
        return self.frame(named_event("error", {"type": "error", "code": "stream_broken",
                                                "message": message, "param": None}))

    def render_error(self, err: ProxyError) -> tuple[bytes, int, dict]:
        return openai_error(err)


RESPONSES = ResponsesFormat()
