"""Anthropic's Messages API as a client format (Claude Code, the `anthropic` SDKs).

- envelope: stream framing and the error envelope; request: reading the client's request.
- passthrough: Anthropic keys, the body and answer as they are.
- chat_request, chat_messages, limits: the request as an OpenAI chat body for other keys;
  from_chat, chat_stream: their answers back; translated: that route through the chat
  format's operation.
- count_tokens, estimate: token counting where Anthropic's own call is not there.
- operation: the operations the routes serve, one route per leased key.
"""
from .envelope import MESSAGES
from .operation import CountTokensOperation, MessagesOperation
from .request import parse_request

__all__ = ["MESSAGES", "CountTokensOperation", "MessagesOperation", "parse_request"]
