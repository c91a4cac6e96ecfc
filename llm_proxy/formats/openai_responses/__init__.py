"""OpenAI's Responses API as a client format (Codex CLI, the `openai` SDKs).

- envelope: stream framing and the error envelope; request: reading the client's request.
- passthrough: keys whose API serves Responses, the body and answer as they are.
- chat_request, chat_input, chat_tools: the request as an OpenAI chat body for other keys;
  from_chat, chat_stream, usage: their answers back; translated: that route through the
  chat format's operation.
- operation: the operation the route serves, one way upstream per leased key.
"""
from .envelope import RESPONSES
from .operation import ResponsesOperation
from .request import parse_request

__all__ = ["RESPONSES", "ResponsesOperation", "parse_request"]
