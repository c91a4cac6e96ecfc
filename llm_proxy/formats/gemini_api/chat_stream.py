"""OpenAI `chat.completion.chunk` streams as Gemini's streamGenerateContent events.

Each event is a GenerateContentResponse holding the next piece of the one candidate
(https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent): text as
it arrives; function calls whole, as Gemini sends them, so their argument pieces are
gathered until the stream ends; the last event carries the finishReason and the
usageMetadata. Accumulated, the events make the non-streamed answer of from_chat.
"""
from __future__ import annotations

import json
from typing import Iterator

from ..chat_chunks import ChunkWriter, translate
from .from_chat import candidate, finish_reason, function_call, response_id, usage_metadata


class EventWriter(ChunkWriter):
    """The Gemini events of one stream, from OpenAI chunks fed one at a time."""

    def __init__(self, model: str):
        self.model = model
        self.id = ""
        self.calls: dict[int, dict] = {}  # OpenAI tool call index → the call so far

    def _opening(self, chunk: dict) -> Iterator[bytes]:
        self.id = response_id(chunk.get("id"))
        return iter(())

    def _event(self, parts: list, finish: str | None = None, usage=None) -> bytes:
        out: dict = {"candidates": [candidate(parts, finish)]}
        if usage is not None:
            out["usageMetadata"] = usage_metadata(usage)
        out["modelVersion"] = self.model
        out["responseId"] = self.id
        return json.dumps(out, ensure_ascii=False).encode()

    def _text(self, text: str) -> Iterator[bytes]:
        yield self._event([{"text": text}])

    def _tool(self, call: dict) -> Iterator[bytes]:
        position = call.get("index", 0)
        if not isinstance(position, int):
            raise ValueError("a tool call index that is not a number")
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        gathered = self.calls.setdefault(position, {"id": None, "name": "", "arguments": ""})
        if call.get("id"):
            gathered["id"] = call["id"]
        if function.get("name"):
            gathered["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            gathered["arguments"] += function["arguments"]
        return iter(())

    def end(self) -> Iterator[bytes]:
        parts = [function_call({"id": c["id"], "function": {"name": c["name"],
                                                              "arguments": c["arguments"]}})
                 for _, c in sorted(self.calls.items())]
        yield self._event(parts or [{"text": ""}], finish_reason(self.finish), self.usage)


def iter_events(chunks: Iterator[bytes], model: str) -> Iterator[bytes]:
    """Gemini event payloads for the OpenAI chunk JSONs an adapter yields."""
    return translate(chunks, EventWriter(model))
