"""OpenAI `messages` as Gemini `contents` and `systemInstruction`.

Format per https://ai.google.dev/api/generate-content and https://ai.google.dev/api/caching
(Content, Part, Blob, FunctionCall, FunctionResponse). Roles are only `user` and `model`;
function results travel as `functionResponse` parts of a user turn.
"""
from __future__ import annotations

import json
import mimetypes
import secrets

from ...errors import InvalidRequest
from ..openai_input import (TextRules, append_turn, named_function, parse_data_uri,
                            read_arguments, read_array, read_texts)

# Gemini 3 rejects a replayed functionCall without the thoughtSignature it came with
# (https://ai.google.dev/gemini-api/docs/thought-signatures). OpenAI clients keep nothing
# but the tool call id, so the signature rides inside it.
_SIGNATURE_MARK = "_sig_"
# For calls Gemini did not make (another provider's, or written by the client), the same
# page documents a stand-in that the validator accepts.
FOREIGN_CALL_SIGNATURE = "skip_thought_signature_validator"

_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mp3"}
_TEXT = TextRules(("text", "refusal"), "'{param}' must be a string or an array of parts.",
                  "'{param}' must be a text part here.", "invalid_value")


def new_call_id(signature: str | None = None) -> str:
    """A fresh OpenAI tool call id, carrying Gemini's thought signature when there is one."""
    call_id = "call_" + secrets.token_hex(12)
    return f"{call_id}{_SIGNATURE_MARK}{signature}" if signature else call_id


def signature_of(call_id: str) -> str | None:
    """The thought signature `new_call_id` put into an id, or None."""
    if call_id.startswith("call_") and _SIGNATURE_MARK in call_id:
        return call_id.split(_SIGNATURE_MARK, 1)[1] or None
    return None


def build_contents(messages: list) -> tuple[list, list]:
    """(systemInstruction parts, contents) for a validated OpenAI message list."""
    system: list = []
    contents: list = []
    call_names: dict[str, str] = {}
    for i, message in enumerate(messages):
        role = message["role"]
        where = f"messages[{i}]"
        if role in ("system", "developer"):
            system += [{"text": text} for text in _texts(message.get("content"), where)]
        elif role == "user":
            append_turn(contents, "user", _user_parts(message.get("content"), where), "parts")
        elif role == "assistant":
            append_turn(contents, "model", _assistant_parts(message, where, call_names), "parts")
        elif role == "tool":
            result = _function_response(message, where, call_names)
            append_turn(contents, "user", [result], "parts")
        else:
            raise InvalidRequest(f"Unsupported role '{role}' in '{where}.role' for a Gemini "
                                 "model: use system, developer, user, assistant or tool.",
                                 param=f"{where}.role", code="invalid_value")
    if not contents and system:
        # Gemini needs at least one turn; OpenAI answers a system-only conversation.
        contents, system = [{"role": "user", "parts": system}], []
    if not contents:
        raise InvalidRequest("The conversation has no content to send: every message is "
                             "empty.", param="messages", code="invalid_value")
    return system, contents


def _texts(content, where: str) -> list[str]:
    """The non-empty texts of a string or text-parts content."""
    return [text for text in read_texts(content, f"{where}.content", _TEXT) if text]


def _user_parts(content, where: str) -> list:
    if content is None or isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(f"'{where}.content' must be a string or an array of parts.",
                             param=f"{where}.content", code="invalid_type")
    parts = []
    for j, part in enumerate(content):
        here = f"{where}.content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            if part["text"]:
                parts.append({"text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            parts.append({"inlineData": _image_blob(url, f"{here}.image_url.url")})
        elif kind == "input_audio":
            parts.append({"inlineData": _audio_blob(part.get("input_audio"), here)})
        elif kind == "file":
            parts.append({"inlineData": _file_blob(part.get("file"), here)})
        else:
            raise InvalidRequest(f"Unsupported content part in '{here}': expected text, "
                                 "image_url, input_audio or file.", param=here,
                                 code="invalid_value")
    return parts


def _image_blob(url, param: str) -> dict:
    if not isinstance(url, str) or not url:
        raise InvalidRequest(f"'{param}' must be a non-empty string.", param=param,
                             code="invalid_type")
    if url.startswith(("http://", "https://")):
        raise InvalidRequest("Image URLs cannot be sent to a Gemini model through this proxy: "
                             "send the image inline as a data: URI "
                             "(data:image/png;base64,...).", param=param,
                             code="unsupported_image_url")
    return _blob(url, param)


def _blob(uri: str, param: str) -> dict:
    """A data: URI as Gemini's Blob {mimeType, data (base64)}."""
    mime, data = parse_data_uri(uri, param)
    return {"mimeType": mime, "data": data}


def _audio_blob(audio, where: str) -> dict:
    fmt = audio.get("format") if isinstance(audio, dict) else None
    if fmt not in _AUDIO_TYPES or not isinstance(audio.get("data"), str):
        raise InvalidRequest(f"'{where}.input_audio' needs base64 'data' and a 'format' of "
                             "wav or mp3.", param=f"{where}.input_audio", code="invalid_value")
    return {"mimeType": _AUDIO_TYPES[fmt], "data": audio["data"]}


def _file_blob(file, where: str) -> dict:
    data = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data, str) or not data:
        raise InvalidRequest(f"'{where}.file' needs inline 'file_data': uploaded file ids "
                             "cannot be resolved for a Gemini model.",
                             param=f"{where}.file", code="invalid_value")
    if data.startswith("data:"):
        return _blob(data, f"{where}.file.file_data")
    mime = mimetypes.guess_type(str(file.get("filename") or ""))[0]
    if not mime:
        raise InvalidRequest(f"'{where}.file' needs a data: URI or a filename with a known "
                             "extension to tell its media type.", param=f"{where}.file",
                             code="invalid_value")
    return {"mimeType": mime, "data": data}


def _assistant_parts(message: dict, where: str, call_names: dict) -> list:
    parts = [{"text": text} for text in _texts(message.get("content"), where)]
    # Any empty value (false, 0, {}, "") counts as no tool calls here, not only None and [].
    tool_calls = read_array(message.get("tool_calls") or None, f"{where}.tool_calls")
    for k, call in enumerate(tool_calls):
        here = f"{where}.tool_calls[{k}]"
        function = named_function(call)
        if function is None or not isinstance(call.get("id"), str):
            raise InvalidRequest(f"'{here}' needs an 'id' and a 'function' with a 'name'.",
                                 param=here, code="invalid_value")
        call_names[call["id"]] = function["name"]
        args = read_arguments(function.get("arguments"), here, "a JSON object string")
        part = {"functionCall": {"name": function["name"], "args": args}}
        signature = signature_of(call["id"])
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    calls = [part for part in parts if "functionCall" in part]
    if calls and not any("thoughtSignature" in part for part in calls):
        # Gemini signs the first call of a step; a step it did not make gets the stand-in.
        calls[0]["thoughtSignature"] = FOREIGN_CALL_SIGNATURE
    return parts


def _function_response(message: dict, where: str, call_names: dict) -> dict:
    call_id = message.get("tool_call_id")
    name = call_names.get(call_id) if isinstance(call_id, str) else None
    if name is None:
        raise InvalidRequest(f"'{where}.tool_call_id' does not match a tool call of an earlier "
                             "assistant message.", param=f"{where}.tool_call_id",
                             code="invalid_value")
    text = "".join(_texts(message.get("content"), where))
    try:
        result = json.loads(text)
    except (ValueError, RecursionError):
        result = None
    # Gemini's `response` is an object; anything else goes under "output" as its docs advise.
    response = result if isinstance(result, dict) else {"output": text}
    return {"functionResponse": {"name": name, "response": response}}
