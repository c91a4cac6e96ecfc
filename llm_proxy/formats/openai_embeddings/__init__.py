"""OpenAI's embeddings API as a client format (every RAG application, the `openai` SDKs).

- request: reading the client's request; gemini: Gemini keys through batchEmbedContents;
- operation: the operation the route serves, passthrough for OpenAI-style keys.
"""
from .operation import EMBEDDINGS, EmbeddingsOperation
from .request import parse_request

__all__ = ["EMBEDDINGS", "EmbeddingsOperation", "parse_request"]
