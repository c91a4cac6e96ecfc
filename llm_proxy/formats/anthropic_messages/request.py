"""A client's Messages API request, read and checked as far as routing it needs.

Required fields and types per https://docs.anthropic.com/en/api/messages and
/en/api/messages-count-tokens. What each provider needs beyond this is checked where the
body is translated for it; an Anthropic key gets the body as sent, and Anthropic itself
judges the rest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import request

from ...errors import InvalidRequest
from ..openai_chat import read_json_object


@dataclass(frozen=True)
class MessagesRequest:
    """A Messages (or count_tokens) request: the parsed body, never mutated, and its bytes."""
    body: dict
    raw: bytes
    model: str
    stream: bool
    query: str = ""              # the query string as sent: Claude Code adds "beta=true"
    version: str | None = None   # the anthropic-version header
    betas: str | None = None     # the anthropic-beta header


def parse_request(*, count: bool = False) -> MessagesRequest:
    """The current request as a MessagesRequest, or InvalidRequest naming the field."""
    body, raw = read_json_object()
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: Field required (a non-empty string)." if model is None
                             else "model: Input should be a non-empty string.", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: Field required (a non-empty array)."
                             if messages is None else
                             "messages: Input should be a non-empty array.", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequest(f"messages.{i}: Input should be an object with a 'role'.",
                                 param=f"messages.{i}")
    max_tokens = body.get("max_tokens")
    if max_tokens is None and not count:
        raise InvalidRequest("max_tokens: Field required.", param="max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int)
                                   or isinstance(max_tokens, bool) or max_tokens < 1):
        raise InvalidRequest("max_tokens: Input should be an integer of at least 1.",
                             param="max_tokens")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("stream: Input should be a valid boolean.", param="stream")
    if count and stream:
        raise InvalidRequest("stream: Extra inputs are not permitted.", param="stream")
    return MessagesRequest(body=body, raw=raw, model=model, stream=bool(stream),
                           query=request.query_string.decode("latin-1"),
                           version=_header("anthropic-version"),
                           betas=_header("anthropic-beta"))


# What may go on in a header: a value the HTTP client would refuse must fail here, as the
# client's 400, not upstream, where it would count against the key.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,1000}")


def _header(name: str) -> str | None:
    value = request.headers.get(name)
    if value is None:
        return None
    if not _HEADER_VALUE.fullmatch(value.strip()):
        raise InvalidRequest(f"The {name} header must be printable ASCII (at most 1000 "
                             "characters).", param=name)
    return value.strip()
