"""OpenAI chat messages as Anthropic Messages API `system` and `messages`.

Anthropic takes the system prompt as a top-level field, only `user` and `assistant` turns,
tool calls as `tool_use` blocks in the assistant turn and their results as `tool_result`
blocks at the start of the next user turn
(https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use).
"""
from __future__ import annotations

import re

from ...errors import InvalidRequest
from ..openai_input import (TextRules, append_turn, named_function, parse_data_uri,
                            read_arguments, read_array, read_texts)

# https://docs.anthropic.com/en/docs/build-with-claude/vision: the accepted image types.
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
# Anthropic's pattern for tool_use ids; OpenAI allows any string.
_TOOL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_TEXT_ONLY = TextRules(("text",), "'{param}' must be a string or an array of text parts.",
                       "'{param}' must be a text part.", "invalid_type")
# An assistant's own earlier words may include a refusal.
_ASSISTANT_TEXT = _TEXT_ONLY._replace(kinds=("text", "refusal"),
                                      not_text="'{param}' must be a text or refusal part.")


def to_anthropic(messages: list) -> tuple[list, list]:
    """(system text blocks, alternating user/assistant turns) for an OpenAI `messages` list."""
    system: list = []
    turns: list = []
    for i, message in enumerate(messages):
        role = message["role"]
        if role in ("system", "developer"):
            system += _text_blocks(message.get("content"), f"messages[{i}].content")
        elif role == "user":
            append_turn(turns, "user", _user_blocks(message.get("content"), i), "content")
        elif role == "assistant":
            append_turn(turns, "assistant", _assistant_blocks(message, i), "content")
        elif role == "tool":
            append_turn(turns, "user", [_tool_result(message, i)], "content")
        else:
            raise InvalidRequest(f"Invalid value for 'messages[{i}].role': '{role}' is not "
                                 "supported for this model.", param=f"messages[{i}].role",
                                 code="invalid_value")
    if not turns and system:
        # Anthropic needs at least one turn; OpenAI answers a system-only conversation.
        turns, system = [{"role": "user", "content": system}], []
    if not turns:
        raise InvalidRequest("'messages' must contain at least one user or assistant message "
                             "with content.", param="messages")
    for turn in turns:
        if turn["role"] == "user":
            # Tool results must open the user turn, before any text.
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    _trim_prefill(turns[-1])
    return system, turns


def _trim_prefill(turn: dict) -> None:
    # A final assistant turn is a prefill, which Anthropic rejects when it ends in whitespace.
    if turn["role"] == "assistant" and turn["content"][-1]["type"] == "text":
        turn["content"][-1]["text"] = turn["content"][-1]["text"].rstrip()


def _text_blocks(content, param: str, rules: TextRules = _TEXT_ONLY) -> list:
    """Text-only content (system, developer, tool) as text blocks, blank ones left out."""
    return [{"type": "text", "text": text}
            for text in read_texts(content, param, rules) if text.strip()]


def _user_blocks(content, i: int) -> list:
    param = f"messages[{i}].content"
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    if not isinstance(content, list):
        raise InvalidRequest(f"'{param}' must be a string or an array of content parts.",
                             param=param, code="invalid_type")
    blocks = []
    for j, part in enumerate(content):
        block = _user_part(part, f"{param}[{j}]")
        if block is not None:
            blocks.append(block)
    return blocks


def _user_part(part, param: str) -> dict | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"]} if part["text"].strip() else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str):
            raise InvalidRequest(f"'{param}.image_url.url' must be a string.",
                                 param=f"{param}.image_url.url", code="invalid_type")
        return {"type": "image", "source": image_source(url, f"{param}.image_url.url")}
    if kind == "file":
        return _document(part.get("file"), param)
    raise InvalidRequest(f"'{param}' has a content part type this model does not support "
                         f"({kind!r}); use 'text', 'image_url' or a PDF 'file'.", param=param,
                         code="invalid_value")


def image_source(url: str, param: str) -> dict:
    """An Anthropic image source: base64 for a data: URI, `url` for an http(s) address."""
    if url.startswith(("http://", "https://")):
        return {"type": "url", "url": url}
    media_type, data = parse_data_uri(url, param)
    if media_type not in IMAGE_TYPES:
        raise InvalidRequest(f"'{param}' is a {media_type} image; this model accepts "
                             f"{', '.join(sorted(IMAGE_TYPES))}.", param=param,
                             code="invalid_image_format")
    return {"type": "base64", "media_type": media_type, "data": data}


def _document(file, param: str) -> dict:
    # OpenAI's `file` part with inline data; Anthropic reads PDFs as base64 documents
    # (https://docs.anthropic.com/en/docs/build-with-claude/pdf-support).
    data_uri = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data_uri, str):
        raise InvalidRequest(f"'{param}.file' must carry 'file_data' as a data: URI; file ids "
                             "are not supported for this model.", param=f"{param}.file",
                             code="invalid_value")
    media_type, data = parse_data_uri(data_uri, f"{param}.file.file_data")
    if media_type != "application/pdf":
        raise InvalidRequest(f"'{param}.file' is {media_type}; this model reads PDF files only.",
                             param=f"{param}.file", code="invalid_value")
    return {"type": "document",
            "source": {"type": "base64", "media_type": media_type, "data": data}}


def _assistant_blocks(message: dict, i: int) -> list:
    blocks = _text_blocks(message.get("content"), f"messages[{i}].content", _ASSISTANT_TEXT)
    calls = read_array(message.get("tool_calls"), f"messages[{i}].tool_calls")
    for j, call in enumerate(calls):
        blocks.append(_tool_use(call, f"messages[{i}].tool_calls[{j}]"))
    return blocks


def _tool_use(call, param: str) -> dict:
    function = named_function(call)
    if function is None or not isinstance(call.get("id"), str):
        raise InvalidRequest(f"'{param}' must have an 'id' and a 'function' with a 'name'.",
                             param=param, code="invalid_type")
    # Any empty value (0, false, []) counts as no arguments here, not only None and "".
    tool_input = read_arguments(function.get("arguments") or None, param, "a JSON object")
    return {"type": "tool_use", "id": tool_id(call["id"]), "name": function["name"],
            "input": tool_input}


def _tool_result(message: dict, i: int) -> dict:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest(f"Missing required parameter: 'messages[{i}].tool_call_id'.",
                             param=f"messages[{i}].tool_call_id",
                             code="missing_required_parameter")
    result = {"type": "tool_result", "tool_use_id": tool_id(call_id)}
    blocks = _text_blocks(message.get("content"), f"messages[{i}].content")
    if blocks:
        result["content"] = blocks
    return result


def tool_id(call_id: str) -> str:
    """A tool call id in Anthropic's alphabet; the same id maps the same way everywhere."""
    return _TOOL_ID_UNSAFE.sub("_", call_id)
