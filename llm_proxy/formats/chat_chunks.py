"""Reading the chat chunks an adapter yields into another format's stream events.

A writer (the Anthropic or Responses one) takes the chunks one at a time (`feed`), says
whether anything came (`started`) and closes the stream (`end`); this loop is the same for
each: a chunk that is not a JSON object, or of an unknown shape, breaks the stream.
"""
from __future__ import annotations

import json
from typing import Iterator

from ..providers.base import StreamBroken


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
