"""An embeddings request to a Gemini key, through `batchEmbedContents`.

Per https://ai.google.dev/api/embeddings#method:-models.batchembedcontents: one
EmbedContentRequest per input text (its `model` the URL's), `dimensions` as
`outputDimensionality`; the answer's `embeddings[i].values` become OpenAI's embedding
objects (https://platform.openai.com/docs/api-reference/embeddings/object). With
`encoding_format: "base64"` each vector is its float32 little-endian bytes in base64, as
OpenAI sends it. Gemini reports no token usage for embeddings: usage is zero.
"""
from __future__ import annotations

import base64
import json
import struct

from ...errors import InvalidRequest, UpstreamError
from ...providers import adapter_for
from ...providers.base import UpstreamRequest
from ...providers.gemini.adapter import model_path
from ..base import Answer
from .request import EmbeddingsRequest, texts

ZERO_USAGE = {"prompt_tokens": 0, "total_tokens": 0}


def encoded(values: list, encoding: str | None):
    """A vector as OpenAI sends it: floats, or base64 of its float32 little-endian bytes."""
    if encoding != "base64":
        return values
    try:
        packed = struct.pack(f"<{len(values)}f", *values)
    except struct.error:
        raise ValueError("an embedding value that is not a number") from None
    return base64.b64encode(packed).decode()


class GeminiEmbedRoute:
    """The operation's side for a Gemini key."""

    def __init__(self, req: EmbeddingsRequest, model: str, served: str):
        given = texts(req.body["input"])
        if given is None:
            raise InvalidRequest("'input' of token ids is not supported for Gemini models: "
                                 "send text.", param="input", code="unsupported_value")
        path = model_path(model)
        one: dict = {}
        if req.body.get("dimensions") is not None:
            one["outputDimensionality"] = req.body["dimensions"]
        self.body = json.dumps({"requests": [
            {"model": path, "content": {"parts": [{"text": text}]}, **one}
            for text in given]}).encode()
        self.path = path
        self.count = len(given)
        self.req = req
        self.served = served
        self.adapter = adapter_for("gemini")

    def upstream_request(self, lease) -> UpstreamRequest:
        return self.adapter.method_request(lease, self.path, "batchEmbedContents", self.body)

    def response_headers(self, lease) -> dict:
        return {}

    def answer(self, content: bytes) -> Answer:
        payload = json.loads(content)
        embeddings = payload.get("embeddings") if isinstance(payload, dict) else None
        if not isinstance(embeddings, list) or len(embeddings) != self.count:
            raise ValueError("not one embedding per input")
        encoding = self.req.body.get("encoding_format")
        data = []
        for i, embedding in enumerate(embeddings):
            values = embedding.get("values") if isinstance(embedding, dict) else None
            if not isinstance(values, list):
                raise ValueError("an embedding without values")
            data.append({"object": "embedding", "index": i,
                         "embedding": encoded(values, encoding)})
        body = {"object": "list", "data": data, "model": self.served, "usage": ZERO_USAGE}
        return Answer(json.dumps(body).encode(), ZERO_USAGE)

    def stream_payloads(self, events, state):
        raise NotImplementedError  # embeddings are never streamed

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return self.adapter.parse_error(status, content, headers)
