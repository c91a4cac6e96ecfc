"""A client's embeddings request, read and checked as far as routing it needs.

Fields per https://platform.openai.com/docs/api-reference/embeddings/create: `model`,
`input` (a string, an array of strings, an array of token ids or of token-id arrays),
`encoding_format` (`float` or `base64`), `dimensions`, `user`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import InvalidRequest
from ..openai_chat import read_json_object, read_model, required


@dataclass(frozen=True)
class EmbeddingsRequest:
    """An embeddings request: the parsed body, never mutated, and its bytes."""
    body: dict
    raw: bytes
    model: str
    stream: bool = False


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_request() -> EmbeddingsRequest:
    """The current request as an EmbeddingsRequest, or InvalidRequest naming the field."""
    body, raw = read_json_object()
    model = read_model(body)
    if not _valid_input(required(body, "input")):
        raise InvalidRequest("'input' must be a string, an array of strings, an array of "
                             "token ids or an array of token-id arrays, none of them empty.",
                             param="input", code="invalid_type")
    fmt = body.get("encoding_format")
    if fmt is not None and fmt not in ("float", "base64"):
        raise InvalidRequest("Invalid value for 'encoding_format': expected 'float' or "
                             "'base64'.", param="encoding_format", code="invalid_value")
    dimensions = body.get("dimensions")
    if dimensions is not None and (not _is_int(dimensions) or dimensions < 1):
        raise InvalidRequest("'dimensions' must be a positive integer.", param="dimensions",
                             code="invalid_type")
    return EmbeddingsRequest(body=body, raw=raw, model=model)


def _valid_input(given) -> bool:
    if isinstance(given, str):
        return True
    if not isinstance(given, list) or not given:
        return False
    if all(isinstance(item, str) for item in given):
        return True
    if all(_is_int(item) for item in given):
        return True
    return all(isinstance(item, list) and item and all(_is_int(t) for t in item)
               for item in given)


def texts(given) -> list[str] | None:
    """The input as a list of texts, or None when it is made of token ids."""
    if isinstance(given, str):
        return [given]
    return given if all(isinstance(item, str) for item in given) else None
