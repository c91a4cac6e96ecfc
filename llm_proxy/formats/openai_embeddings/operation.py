"""The embeddings operation: each attempt's key decides how the request goes upstream.

OpenAI, xAI (https://docs.x.ai/docs/api-reference#create-embeddings) and OpenAI-compatible
servers take the body as sent at `{base_url}/embeddings`; Gemini keys go through
`batchEmbedContents`; Anthropic and DeepSeek have no embeddings endpoint, which is a 400
naming the provider.
"""
from __future__ import annotations

import json

from ...errors import InvalidRequest
from ...providers.model_names import rename_to, renamed
from ..base import Answer
from ..openai_chat import ChatFormat
from ..openai_responses.passthrough import PassthroughRoute
from ..routed import RoutedOperation
from .gemini import GeminiEmbedRoute

PASSTHROUGH_PROVIDERS = frozenset({"openai", "grok", "openai-compatible"})


class EmbeddingsFormat(ChatFormat):
    """OpenAI's envelope, under a name of its own in metrics and logs."""
    name = "openai-embeddings"


EMBEDDINGS = EmbeddingsFormat()


class EmbeddingsPassthrough(PassthroughRoute):
    def __init__(self, req, provider: str, rename: bytes | None = None):
        super().__init__(req, provider, "/embeddings", rename)

    def answer(self, content: bytes) -> Answer:
        payload = json.loads(content)
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise ValueError("not an embeddings list")
        if self.rename:
            content = renamed(content, self.rename)
        usage = payload.get("usage")
        return Answer(content, usage if isinstance(usage, dict) else None)


class EmbeddingsOperation(RoutedOperation):
    """POST /v1/embeddings."""

    client = EMBEDDINGS

    def _make_route(self, provider: str, model: str, served: str):
        if provider in PASSTHROUGH_PROVIDERS:
            return EmbeddingsPassthrough(self.req, provider, rename_to(model, served))
        if provider == "gemini":
            return GeminiEmbedRoute(self.req, model, served)
        raise InvalidRequest(f"The model '{served}' is served by {provider}, which has no "
                             "embeddings endpoint.", param="model", code="unsupported_model")
