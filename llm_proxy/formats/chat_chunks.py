"""Reading the chat chunks an adapter yields into another format's stream events.

A writer (the Anthropic or Responses one) takes the chunks one at a time (`feed`), says
whether anything came (`started`) and closes the stream (`end`); this loop is the same for
each: a chunk that is not a JSON object, or of an unknown shape, breaks the stream.
"""
from __future__ import annotations

import json
from typing import Iterator

from ..providers.base import StreamBroken
from .anthropic_messages.from_chat import listed, text_of


def translate(chunks: Iterator[bytes], writer) -> Iterator[bytes]:
    """The writer's event payloads for the chat chunk JSONs an adapter yields."""
    for data in chunks:
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError):
            chunk = None
        if not isinstance(chunk, dict):
            raise StreamBroken("The upstream sent a stream chunk that is not a JSON object.")
        try:
            events = list(writer.feed(chunk))
        except ValueError:  # an array or index of another type
            raise StreamBroken("The upstream sent a stream chunk of an unknown shape.") from None
        yield from events
    if not writer.started:
        return  # nothing came: the attempt loop reports the empty stream
    yield from writer.end()


class ChunkWriter:
    """What every writer does with a chunk: the usage, then the first choice's text, tool
    call deltas and finish reason, handed to `_text` and `_tool`; `_opening` comes first."""

    started = False
    finish = None
    usage = None

    def _opening(self, chunk: dict) -> Iterator[bytes]:
        raise NotImplementedError

    def _text(self, text: str) -> Iterator[bytes]:
        raise NotImplementedError

    def _tool(self, call: dict) -> Iterator[bytes]:
        raise NotImplementedError

    def end(self) -> Iterator[bytes]:
        raise NotImplementedError

    def feed(self, chunk: dict) -> Iterator[bytes]:
        if not self.started:
            self.started = True
            yield from self._opening(chunk)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in listed(chunk.get("choices")):
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # one answer is asked for; another choice would be a second one
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            text = text_of(delta.get("content")) or text_of(delta.get("refusal"))
            if text:
                yield from self._text(text)
            for call in listed(delta.get("tool_calls")):
                if isinstance(call, dict):
                    yield from self._tool(call)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
