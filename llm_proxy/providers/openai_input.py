"""Readers of the OpenAI request fields that the Anthropic and Gemini translators read alike."""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

from ..errors import InvalidRequest

# The providers word some refusals their own way (tests and clients rely on the words), so
# where they differ the reader takes the wording; the rule it applies is the same for both.

TOOL_CHOICE_MODES = ("auto", "none", "required")


def read_array(value, param: str) -> list:
    """An optional array field such as `tools` or `tool_calls`: [] when absent, else 400."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest(f"'{param}' must be an array.", param=param, code="invalid_type")
    return value


def named_function(holder) -> dict | None:
    """The `function` of a tool, tool call or tool_choice if it has a string `name`, else None."""
    function = holder.get("function") if isinstance(holder, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return function
    return None


def read_tool_choice(choice) -> tuple[str, str | None]:
    """(mode, function name): a mode of TOOL_CHOICE_MODES with None, or ("function", name)."""
    if isinstance(choice, str) and choice in TOOL_CHOICE_MODES:
        return choice, None
    function = named_function(choice)
    if function is not None and choice.get("type") == "function":
        return "function", function["name"]
    raise InvalidRequest("'tool_choice' must be 'auto', 'none', 'required' or "
                         '{"type": "function", "function": {"name": ...}}.',
                         param="tool_choice", code="invalid_value")


def read_arguments(arguments, param: str, expected: str) -> dict:
    """A tool call's `function.arguments` (a JSON string) as an object; None or "" is {}.

    `param` names the tool call; the 400 says the arguments must be `expected`.
    """
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):
            arguments = None
    if not isinstance(arguments, dict):
        raise InvalidRequest(f"'{param}.function.arguments' must be {expected}.",
                             param=f"{param}.function.arguments", code="invalid_value")
    return arguments


def read_stop(stop) -> list[str]:
    """`stop`, a string or an array of strings, as a list ([] when absent); else 400."""
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise InvalidRequest("'stop' must be a string or an array of strings.", param="stop",
                             code="invalid_type")
    return stop


def read_response_format(response_format, schema_must_be: str) -> tuple:
    """(type, schema) of `response_format`, ("text", None) when absent.

    The type is returned unchecked, for each provider to take or refuse; the schema is that
    of a json_schema format, which must be an object (the 400 says `schema_must_be`).
    """
    if response_format is None:
        return "text", None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind != "json_schema":
        return kind, None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise InvalidRequest(f"'response_format.json_schema.schema' must be {schema_must_be}.",
                             param="response_format.json_schema.schema", code="invalid_value")
    return kind, schema


class TextRules(NamedTuple):
    """Which parts count as text for a provider, and its 400s (`{param}` names the field)."""
    kinds: tuple  # part types read as text: "text", and "refusal" where it may appear
    not_content: str  # the content is neither a string nor an array
    not_text: str  # a part is not of one of the kinds
    not_text_code: str


def read_texts(content, param: str, rules: TextRules) -> list[str]:
    """The texts of a string or an array of text parts, in order, empty ones included."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise InvalidRequest(rules.not_content.format(param=param), param=param,
                             code="invalid_type")
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in rules.kinds or not isinstance(part.get(kind), str):
            raise InvalidRequest(rules.not_text.format(param=f"{param}[{j}]"),
                                 param=f"{param}[{j}]", code=rules.not_text_code)
        texts.append(part[kind])
    return texts


def append_turn(turns: list, role: str, items: list, key: str) -> None:
    """Add `items` as the turn {"role": role, key: items}, or to the last turn of that role.

    Both providers want user and model turns to alternate, where OpenAI allows two user
    messages in a row; an empty message carries nothing, and they reject empty turns.
    """
    if not items:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1][key].extend(items)
    else:
        turns.append({"role": role, key: items})


_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[^;,]*)*),(.*)", re.S)
# Names clients use that the providers do not accept as media types.
_MEDIA_ALIASES = {"image/jpg": "image/jpeg"}


def parse_data_uri(uri: str, param: str) -> tuple[str, str]:
    """(media type, base64 data) of `data:<type>[;base64],<data>`; else 400 naming `param`.

    OpenAI clients send images and files inline as data: URIs.
    """
    match = _DATA_URI.fullmatch(uri.strip()) if isinstance(uri, str) else None
    if not match:
        raise InvalidRequest(f"'{param}' must be a data: URI (data:<type>;base64,<data>).",
                             param=param, code="invalid_value")
    media_type = match.group(1).lower()
    flags = [f.strip().lower() for f in match.group(2).split(";") if f.strip()]
    data = match.group(3)
    if "base64" in flags:
        data = re.sub(r"\s+", "", data)
        try:
            binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            raise InvalidRequest(f"'{param}' does not hold valid base64 data.", param=param,
                                 code="invalid_value") from None
    else:
        # Percent-encoded text (RFC 2397); providers take base64 only.
        try:
            data = base64.b64encode(unquote_to_bytes(data.encode("utf-8"))).decode("ascii")
        except UnicodeEncodeError:
            raise InvalidRequest(f"The data: URI in '{param}' is not valid text.", param=param,
                                 code="invalid_value") from None
    if not data:
        raise InvalidRequest(f"'{param}' holds no data.", param=param, code="invalid_value")
    return _MEDIA_ALIASES.get(media_type, media_type), data
