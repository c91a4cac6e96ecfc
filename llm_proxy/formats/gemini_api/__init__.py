"""Gemini's own API as a client format (the `google-genai` SDKs, Gemini CLI).

- envelope: stream framing and Google's error envelope; request: reading the URL and body.
- passthrough: Gemini keys, the body and answer as they are, for every method.
- chat_request, schema: a GenerateContentRequest as an OpenAI chat body for other keys;
  from_chat, chat_stream: their answers back; translated: that route through the chat
  format's operation.
- count_tokens: the proxy's own upper bound where Gemini's count is not there;
  embeddings: embedContent and batchEmbedContents through OpenAI's `/embeddings`.
- models: the configured models in Gemini's listing shape.
- operation: the operation the routes serve, one route per leased key.
"""
from .envelope import GEMINI
from .operation import GeminiOperation
from .request import parse_request

__all__ = ["GEMINI", "GeminiOperation", "parse_request"]
