"""OpenAI `chat.completion.chunk` streams as Anthropic's streaming event sequence.

The sequence per https://docs.anthropic.com/en/docs/build-with-claude/streaming:
`message_start` (the message with empty content), `ping`, then for each content block
`content_block_start`, its `content_block_delta`s (`text_delta`, `input_json_delta`) and
`content_block_stop`, then `message_delta` (stop reason, the cumulative usage) and
`message_stop`. OpenAI sends the usage last, so message_start carries zeros and
message_delta the whole usage, which the SDKs take as the message's. The accumulated
message equals the non-streamed one of from_chat.
"""
from __future__ import annotations

from typing import Iterator

from ..chat_chunks import ChunkWriter, translate
from .envelope import event
from .from_chat import anthropic_usage, message_id, new_tool_id, stop_reason


class EventWriter(ChunkWriter):
    """The Anthropic events of one stream, from OpenAI chunks fed one at a time."""

    def __init__(self, model: str):
        self.model = model
        self.blocks = 0                  # content blocks started so far
        self.open: tuple | None = None   # ("text", index) or ("tool", OpenAI index)
        self.tools: dict[int, int] = {}  # OpenAI tool call index → content block index

    def _opening(self, chunk: dict) -> Iterator[bytes]:
        yield event("message_start", {"type": "message_start", "message": {
            "id": message_id(chunk.get("id")), "type": "message", "role": "assistant",
            "model": self.model, "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": anthropic_usage(None)}})
        yield event("ping", {"type": "ping"})

    def end(self) -> Iterator[bytes]:
        yield from self._close()
        yield event("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(self.finish, bool(self.tools)),
                      "stop_sequence": None},
            "usage": anthropic_usage(self.usage)})
        yield event("message_stop", {"type": "message_stop"})

    def _text(self, text: str) -> Iterator[bytes]:
        if not self.open or self.open[0] != "text":
            yield from self._start({"type": "text", "text": ""}, ("text", self.blocks))
        yield event("content_block_delta", {"type": "content_block_delta",
                                            "index": self.blocks - 1,
                                            "delta": {"type": "text_delta", "text": text}})

    def _tool(self, call: dict) -> Iterator[bytes]:
        position = call.get("index", 0)
        if not isinstance(position, int):
            raise ValueError("a tool call index that is not a number")
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if position not in self.tools:
            self.tools[position] = self.blocks
            yield from self._start({"type": "tool_use", "id": call.get("id") or new_tool_id(),
                                    "name": function.get("name") or "", "input": {}},
                                   ("tool", position))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            yield event("content_block_delta", {
                "type": "content_block_delta", "index": self.tools[position],
                "delta": {"type": "input_json_delta", "partial_json": arguments}})

    def _start(self, block: dict, opened: tuple) -> Iterator[bytes]:
        yield from self._close()
        self.open = opened
        yield event("content_block_start", {"type": "content_block_start",
                                            "index": self.blocks, "content_block": block})
        self.blocks += 1

    def _close(self) -> Iterator[bytes]:
        if self.open:
            index = self.open[1] if self.open[0] == "text" else self.tools[self.open[1]]
            self.open = None
            yield event("content_block_stop", {"type": "content_block_stop", "index": index})


def iter_events(chunks: Iterator[bytes], model: str) -> Iterator[bytes]:
    """Anthropic event payloads for the OpenAI chunk JSONs an adapter yields."""
    return translate(chunks, EventWriter(model))
