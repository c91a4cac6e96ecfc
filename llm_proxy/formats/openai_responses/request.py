"""A client's Responses API request, read and checked as far as routing it needs.

Fields per https://platform.openai.com/docs/api-reference/responses/create. What each
provider needs beyond this is checked where the body is translated for it; OpenAI-style
keys get the body as sent, and their API judges the rest.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import InvalidRequest
from ..openai_chat import read_json_object, read_model, required


@dataclass(frozen=True)
class ResponsesRequest:
    """A Responses request: the parsed body, never mutated, and its bytes."""
    body: dict
    raw: bytes
    model: str
    stream: bool


def parse_request() -> ResponsesRequest:
    """The current request as a ResponsesRequest, or InvalidRequest naming the field."""
    body, raw = read_json_object()
    model = read_model(body)
    # A stored prompt template may stand in for the input (OpenAI keys only).
    given = body.get("input") if body.get("prompt") is not None else required(body, "input")
    if given is not None and not isinstance(given, (str, list)):
        raise InvalidRequest("'input' must be a string or an array of input items.",
                             param="input", code="invalid_type")
    for i, item in enumerate(given if isinstance(given, list) else ()):
        if not isinstance(item, dict):
            raise InvalidRequest(f"'input[{i}]' must be an object.", param=f"input[{i}]",
                                 code="invalid_type")
    for name in ("instructions", "previous_response_id"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InvalidRequest(f"'{name}' must be a string.", param=name, code="invalid_type")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be a boolean.", param="stream", code="invalid_type")
    return ResponsesRequest(body=body, raw=raw, model=model, stream=bool(stream))
