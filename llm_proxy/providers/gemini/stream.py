"""Gemini's streamGenerateContent (alt=sse) as OpenAI `chat.completion.chunk` events.

Each SSE event is a whole GenerateContentResponse holding the next piece of each candidate
(https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent);
function calls arrive whole, the last piece of a candidate carries its finishReason and
usageMetadata is cumulative.
"""
from __future__ import annotations

import json
import time
from typing import Iterator

from ..base import SSEEvent, StreamBroken, StreamState, _json_or_none, clean_message
from .response import (blocked_message, completion_id, finish_reason, logprobs,
                       split_parts, usage)


class StreamTranslator:
    """The OpenAI chunks of one Gemini stream, event by event."""

    def __init__(self, model: str, include_usage: bool):
        self.model = model
        self.include_usage = include_usage
        self.id: str | None = None
        self.created = int(time.time())
        self.tool_calls: dict[int, int] = {}   # candidate index → tool calls sent so far
        self.open: set[int] = set()            # candidates started and not yet finished
        self.finished = False
        self.usage: dict | None = None

    def feed(self, payload: dict) -> Iterator[bytes]:
        if self.id is None:
            self.id = completion_id(payload)
        self.usage = usage(payload) or self.usage
        refusal = blocked_message(payload)
        if refusal:
            yield self._chunk(0, {"role": "assistant", "content": None, "refusal": refusal})
            yield self._chunk(0, {}, "content_filter")
            self.finished = True
            return
        candidates = payload.get("candidates")
        for position, candidate in enumerate(candidates if isinstance(candidates, list) else ()):
            if isinstance(candidate, dict):
                index = candidate.get("index")
                yield from self._candidate(index if isinstance(index, int) else position,
                                           candidate)

    def _candidate(self, index: int, candidate: dict) -> Iterator[bytes]:
        if index not in self.tool_calls:
            self.tool_calls[index] = 0
            self.open.add(index)
            yield self._chunk(index, {"role": "assistant", "content": ""})
        text, calls = split_parts(candidate)
        if text:
            yield self._chunk(index, {"content": text}, token_logprobs=logprobs(candidate))
        if calls:
            first = self.tool_calls[index]
            self.tool_calls[index] += len(calls)
            yield self._chunk(index, {"tool_calls": [dict(call, index=first + k)
                                                     for k, call in enumerate(calls)]})
        reason = finish_reason(candidate.get("finishReason"), self.tool_calls[index] > 0)
        if reason and index in self.open:
            self.open.discard(index)
            self.finished = not self.open
            yield self._chunk(index, {}, reason)

    def _chunk(self, index: int, delta: dict, finish: str | None = None,
               token_logprobs: dict | None = None) -> bytes:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                 "model": self.model, "choices": [{"index": index, "delta": delta,
                                                   "logprobs": token_logprobs,
                                                   "finish_reason": finish}]}
        if self.include_usage:
            chunk["usage"] = None
        return json.dumps(chunk).encode()

    def usage_chunk(self) -> bytes:
        return json.dumps({"id": self.id, "object": "chat.completion.chunk",
                           "created": self.created, "model": self.model, "choices": [],
                           "usage": self.usage}).encode()


def iter_chunks(model: str, include_usage: bool, events: Iterator[SSEEvent],
                state: StreamState) -> Iterator[bytes]:
    """Translate as each event arrives; a stream that stops unfinished counts as broken."""
    translator = StreamTranslator(model, include_usage)
    for event in events:
        payload = _json_or_none(event.data)
        if isinstance(payload, list) and len(payload) == 1:
            payload = payload[0]
        if not isinstance(payload, dict):
            raise StreamBroken("The upstream stream sent an event that is not JSON.")
        if "error" in payload:
            raise _broken(payload["error"])
        yield from translator.feed(payload)
        state.usage = translator.usage
    if not translator.finished:
        raise StreamBroken("The upstream stream ended before the answer was complete.")
    if include_usage and translator.usage:
        yield translator.usage_chunk()


def _broken(error) -> StreamBroken:
    """A StreamBroken from Google's error object {code, message, status}."""
    if not isinstance(error, dict):
        return StreamBroken("The upstream stream reported an error.")
    message = error.get("message") if isinstance(error.get("message"), str) else None
    code = error.get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else 502
    return StreamBroken(clean_message(message) or "The upstream stream reported an error.",
                        status=status)
