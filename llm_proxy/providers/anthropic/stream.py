"""Anthropic's streaming events as OpenAI `chat.completion.chunk` objects, one by one.

The event flow is documented at https://docs.anthropic.com/en/docs/build-with-claude/streaming:
message_start, then per content block content_block_start / content_block_delta… /
content_block_stop, then message_delta (stop_reason, cumulative usage) and message_stop;
`ping` may come anywhere and `error` ends the stream.
"""
from __future__ import annotations

import json
import time
from typing import Iterator

from .response import error_status, finish_reason, openai_usage
from ..base import SSEEvent, StreamBroken, StreamState, _json_or_none, clean_message


class ChunkWriter:
    """Builds the OpenAI chunks of one stream: same id, created and model on each."""

    def __init__(self, model: str, include_usage: bool = False):
        self.model = model
        self.id = "chatcmpl-anthropic"
        self.created = int(time.time())
        # As OpenAI's: with include_usage every chunk before the last says "usage": null.
        self.include_usage = include_usage

    def delta(self, delta: dict, finish: str | None = None) -> bytes:
        choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if self.include_usage:
            return self._encode(choices, usage=None)
        return self._encode(choices)

    def usage(self, usage: dict) -> bytes:
        return self._encode([], usage=usage)

    def _encode(self, choices: list, **extra) -> bytes:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                 "model": self.model, "system_fingerprint": None, "choices": choices, **extra}
        return json.dumps(chunk, ensure_ascii=False).encode()


def iter_chunks(model: str, include_usage: bool, events: Iterator[SSEEvent],
                state: StreamState) -> Iterator[bytes]:
    """Yield each OpenAI chunk as soon as the Anthropic event that carries it arrives."""
    out = ChunkWriter(model, include_usage)
    usage: dict = {}
    tool_index: dict[int, int] = {}  # Anthropic content block index → OpenAI tool call index
    # Tool blocks whose arguments have not streamed yet: a call without arguments still
    # ends with "{}", as OpenAI sends it and as the non-streamed answer has it.
    no_arguments_yet: dict = {}
    # OpenAI's first chunk names the role. It waits for the first content: an overloaded
    # error right after message_start then still reaches the forwarder before any byte
    # went to the client, and the request moves to another key.
    role: bytes | None = None
    for event in events:
        payload = _json_or_none(event.data)
        if not isinstance(payload, dict):
            # Every Anthropic event is a JSON object; skipping a garbled one would drop
            # part of the answer without a word.
            raise StreamBroken("The upstream sent a stream event that is not a JSON object.")
        kind = payload.get("type") or event.event
        chunk = None
        if kind == "message_start":
            message = _object(payload.get("message"))
            if isinstance(message.get("id"), str):
                out.id = message["id"]
            usage.update(_numbers(message.get("usage")))
            state.usage = openai_usage(usage)
            role = out.delta({"role": "assistant", "content": ""})
        elif kind == "content_block_start":
            chunk = _block_start(out, payload, tool_index, no_arguments_yet)
        elif kind == "content_block_delta":
            chunk = _block_delta(out, payload, tool_index, no_arguments_yet)
        elif kind == "content_block_stop":
            block = _index(payload)
            if block in no_arguments_yet:
                chunk = _arguments(out, tool_index[block], no_arguments_yet.pop(block))
        elif kind == "message_delta":
            usage.update(_numbers(payload.get("usage")))
            state.usage = openai_usage(usage)
            delta = _object(payload.get("delta"))
            state.finish_reason = finish_reason(delta.get("stop_reason"))
            chunk = out.delta({}, state.finish_reason)
        elif kind == "message_stop":
            if role:
                yield role
            if include_usage and state.usage:
                yield out.usage(state.usage)
            return
        elif kind == "error":
            raise _broken(payload)
        # ping and event types added later carry nothing to forward.
        if chunk:
            if role:
                yield role
                role = None
            yield chunk
    raise StreamBroken("The upstream stream ended before the message was complete.")


def _block_start(out: ChunkWriter, payload: dict, tool_index: dict,
                 no_arguments_yet: dict) -> bytes | None:
    block = _object(payload.get("content_block"))
    if block.get("type") == "tool_use":
        block_index = _index(payload)
        index = tool_index[block_index] = len(tool_index)
        no_arguments_yet[block_index] = block.get("input")
        return out.delta({"tool_calls": [{
            "index": index, "id": block.get("id"), "type": "function",
            "function": {"name": block.get("name"), "arguments": ""}}]})
    if block.get("type") == "text" and _filled(block.get("text")):
        return out.delta({"content": block["text"]})
    return None  # thinking and server-tool blocks have no OpenAI counterpart


def _block_delta(out: ChunkWriter, payload: dict, tool_index: dict,
                 no_arguments_yet: dict) -> bytes | None:
    delta = _object(payload.get("delta"))
    kind = delta.get("type")
    if kind == "text_delta" and _filled(delta.get("text")):
        return out.delta({"content": delta["text"]})
    if kind == "input_json_delta" and _filled(delta.get("partial_json")):
        block_index = _index(payload)
        index = tool_index.get(block_index)
        if index is not None:
            no_arguments_yet.pop(block_index, None)
            return _arguments(out, index, delta["partial_json"])
    return None  # thinking, signature and citation deltas have no OpenAI counterpart


def _arguments(out: ChunkWriter, index: int, arguments) -> bytes:
    """A tool call's arguments chunk; a start block's own `input` object when none streamed."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if isinstance(arguments, dict) else {},
                               ensure_ascii=False)
    return out.delta({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]})


def _index(payload: dict) -> int | None:
    """The content block index of an event (None when it is not a number)."""
    index = payload.get("index")
    return index if isinstance(index, int) else None


def _filled(value) -> bool:
    return isinstance(value, str) and value != ""


def _object(value) -> dict:
    """`value` if it is a JSON object, else an empty one: a malformed event carries nothing."""
    return value if isinstance(value, dict) else {}


def _numbers(usage) -> dict:
    """The integer counters of an Anthropic usage object (null ones left out)."""
    if not isinstance(usage, dict):
        return {}
    return {k: v for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)}


def _broken(payload: dict) -> StreamBroken:
    err = _object(payload.get("error"))
    message = err.get("message") if isinstance(err.get("message"), str) else None
    return StreamBroken(clean_message(message) or "The upstream stream reported an error.",
                        status=error_status(err.get("type")))
