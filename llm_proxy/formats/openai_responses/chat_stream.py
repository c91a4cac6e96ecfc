"""OpenAI `chat.completion.chunk` streams as the Responses API's streaming events.

The sequence per https://platform.openai.com/docs/api-reference/responses-streaming:
`response.created` and `response.in_progress` (the response without output), then for a
text answer `response.output_item.added` (the message), `response.content_part.added`,
`response.output_text.delta`s, `response.output_text.done`, `response.content_part.done`,
`response.output_item.done`; for each function call `response.output_item.added`,
`response.function_call_arguments.delta`s and `.done`, `response.output_item.done`; last
`response.completed` (or `response.incomplete`) with the whole response and its usage.
Every event carries the next `sequence_number`. The openai SDK accumulates them into the
same response as the non-streamed answer of from_chat.
"""
from __future__ import annotations

from typing import Iterator

from ..base import named_event
from ..chat_chunks import ChunkWriter, translate
from .from_chat import call_item, finished, message_item, new_id, output_text, skeleton


class EventWriter(ChunkWriter):
    """The Responses events of one stream, from chat chunks fed one at a time."""

    def __init__(self, body: dict, model: str, namespaced: dict):
        self.response = skeleton(body, model, new_id("resp"))
        self.namespaced = namespaced
        self.sequence = 0
        self.output: list = []           # every item so far, as it stands
        self.text: int | None = None     # output index of the open message, if any
        self.calls: dict[int, int] = {}  # chat tool call index → output index
        self.open_calls: list[int] = []

    def _event(self, kind: str, **fields) -> bytes:
        data = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return named_event(kind, data)

    def _opening(self, chunk: dict) -> Iterator[bytes]:
        yield self._event("response.created", response=self.response)
        yield self._event("response.in_progress", response=self.response)

    def end(self) -> Iterator[bytes]:
        yield from self._close_text()
        for index in self.open_calls:
            item = {**self.output[index], "status": "completed"}
            self.output[index] = item
            yield self._event("response.function_call_arguments.done", item_id=item["id"],
                              output_index=index, arguments=item["arguments"],
                              name=item["name"])
            yield self._event("response.output_item.done", output_index=index, item=item)
        self.open_calls = []
        response = finished(self.response, self.output, self.finish, self.usage)
        yield self._event("response.completed" if response["status"] == "completed"
                          else "response.incomplete", response=response)

    def _text(self, text: str) -> Iterator[bytes]:
        if self.text is None:
            self.text = len(self.output)
            item = message_item(new_id("msg"), "", status="in_progress")
            self.output.append({**item, "content": [output_text("")]})
            yield self._event("response.output_item.added", output_index=self.text, item=item)
            yield self._event("response.content_part.added", item_id=item["id"],
                              output_index=self.text, content_index=0, part=output_text(""))
        item = self.output[self.text]
        item["content"][0]["text"] += text
        yield self._event("response.output_text.delta", item_id=item["id"],
                          output_index=self.text, content_index=0, delta=text, logprobs=[])

    def _close_text(self) -> Iterator[bytes]:
        if self.text is None:
            return
        index, self.text = self.text, None
        item = self.output[index]
        text = item["content"][0]["text"]
        self.output[index] = done = message_item(item["id"], text)
        yield self._event("response.output_text.done", item_id=item["id"], output_index=index,
                          content_index=0, text=text, logprobs=[])
        yield self._event("response.content_part.done", item_id=item["id"], output_index=index,
                          content_index=0, part=output_text(text))
        yield self._event("response.output_item.done", output_index=index, item=done)

    def _tool(self, call: dict) -> Iterator[bytes]:
        position = call.get("index", 0)
        if not isinstance(position, int):
            raise ValueError("a tool call index that is not a number")
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if position not in self.calls:
            yield from self._close_text()
            index = self.calls[position] = len(self.output)
            item = call_item(new_id("fc"), call.get("id") or new_id("call"),
                             function.get("name") or "", "", self.namespaced,
                             status="in_progress")
            self.output.append(item)
            self.open_calls.append(index)
            yield self._event("response.output_item.added", output_index=index, item=item)
        index = self.calls[position]
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item = self.output[index]
            item["arguments"] += arguments
            yield self._event("response.function_call_arguments.delta", item_id=item["id"],
                              output_index=index, delta=arguments)


def iter_events(chunks: Iterator[bytes], body: dict, model: str,
                namespaced: dict) -> Iterator[bytes]:
    """Responses event payloads for the chat chunk JSONs an adapter yields."""
    return translate(chunks, EventWriter(body, model, namespaced))
