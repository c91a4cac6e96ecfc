"""embedContent and batchEmbedContents to an OpenAI-style key, through its `/embeddings`.

Each EmbedContentRequest (https://ai.google.dev/api/embeddings) is one text: the text
parts of its content, joined. `outputDimensionality` becomes `dimensions`
(https://platform.openai.com/docs/api-reference/embeddings/create), the same for every
request of a batch, as one OpenAI call has one. `taskType` and `title` tune Google's
embedding for a use and have no counterpart: they are left out. The answer's vectors come
back as `{"embedding": {"values"}}` or `{"embeddings": [...]}`.
"""
from __future__ import annotations

import json

from ...errors import InvalidRequest, UpstreamError
from ...providers import adapter_for
from ...providers.base import UpstreamRequest
from ..base import Answer, dumps
from .request import EMBED, GeminiRequest

_FIELDS = frozenset({"model", "content", "taskType", "title", "outputDimensionality"})


def _text(one: dict, where: str) -> str:
    for name in one:
        if name not in _FIELDS:
            raise InvalidRequest(f"Invalid JSON payload received. Unknown name \"{name}\" at "
                                 f"'{where}': Cannot find field.", param=f"{where}.{name}")
    content = one.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts or \
            not all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in parts):
        raise InvalidRequest(f"{where}.content.parts: only text parts can be embedded by this "
                             "model.", param=f"{where}.content.parts")
    return "".join(p["text"] for p in parts)


class OpenAIEmbedRoute:
    """The operation's side for an OpenAI-style key."""

    def __init__(self, req: GeminiRequest, provider: str, model: str):
        single = req.method == EMBED
        requests = [req.body] if single else req.body["requests"]
        where = (lambda i: "") if single else (lambda i: f"requests[{i}]")
        texts = [_text(one, where(i) or "embed_content_request") for i, one in enumerate(requests)]
        sizes = {one.get("outputDimensionality") for one in requests}
        if len(sizes) > 1:
            raise InvalidRequest("requests: every request of a batch must ask for the same "
                                 "outputDimensionality for this model.",
                                 param="outputDimensionality")
        size = sizes.pop()
        body: dict = {"model": model, "input": texts if not single else texts[0]}
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise InvalidRequest("outputDimensionality: must be a positive integer.",
                                     param="outputDimensionality")
            body["dimensions"] = size
        self.body = dumps(body)
        self.single = single
        self.count = len(texts)
        self.adapter = adapter_for(provider)

    def upstream_request(self, lease) -> UpstreamRequest:
        return UpstreamRequest(
            url=self.adapter.base_url(lease) + "/embeddings",
            headers={"Authorization": f"Bearer {lease.api_key}",
                     "Content-Type": "application/json", "Accept": "application/json"},
            body=self.body)

    def response_headers(self, lease) -> dict:
        return {}

    def answer(self, content: bytes) -> Answer:
        payload = json.loads(content)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or len(data) != self.count:
            raise ValueError("not one embedding per input")
        ordered = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
        vectors = []
        for item in ordered:
            values = item.get("embedding") if isinstance(item, dict) else None
            if not isinstance(values, list):
                raise ValueError("an embedding that is not a list of floats")
            vectors.append({"values": values})
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else None
        body = {"embedding": vectors[0]} if self.single else {"embeddings": vectors}
        return Answer(dumps(body), usage)

    def stream_payloads(self, events, state):
        raise NotImplementedError  # embeddings are never streamed

    def upstream_error(self, status: int, content: bytes, headers) -> UpstreamError:
        return self.adapter.parse_error(status, content, headers)
