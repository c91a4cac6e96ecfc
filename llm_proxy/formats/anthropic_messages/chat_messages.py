"""Anthropic `system` and `messages` as OpenAI Chat Completions messages.

Anthropic content blocks (https://docs.anthropic.com/en/api/messages): `text`, `image`
(base64 or URL source), `document` (PDF or plain text), `tool_use` in assistant turns and
`tool_result` in the user turn after it (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use).
OpenAI (https://platform.openai.com/docs/api-reference/chat/create) takes each tool result
as its own `tool` message right after the assistant message that called it, with text
content only: images a tool returned follow in a user message. Thinking blocks are
Anthropic's own and signed for Anthropic: other providers get the conversation without
them. Text-only content becomes one string, which every OpenAI-style server accepts.
"""
from __future__ import annotations

import json

from ...errors import InvalidRequest

TEXT_JOIN = "\n\n"
# Anthropic's own reasoning of earlier turns: not the conversation, nothing to carry.
_SKIPPED_ASSISTANT_BLOCKS = {"thinking", "redacted_thinking"}


def chat_messages(body: dict) -> list:
    """The OpenAI `messages` for an Anthropic request body (which is left unchanged)."""
    out: list = []
    system = _text(body.get("system"), "system")
    if system:
        out.append({"role": "system", "content": system})
    messages = body["messages"]
    for i, message in enumerate(messages):
        role, where = message["role"], f"messages.{i}"
        blocks = _blocks(message.get("content"), f"{where}.content")
        if role == "user":
            out += _user(blocks, where)
        elif role == "assistant":
            if i == len(messages) - 1 and any(b.get("type") == "text" for b in blocks):
                # The model would answer anew instead of continuing the text.
                raise InvalidRequest(f"{where}: a final assistant message (prefill) is not "
                                     "supported for this model.", param=where)
            out += _assistant(blocks, where)
        elif role == "system":  # mid-conversation system text (a Claude Code beta)
            text = _text(message.get("content"), f"{where}.content")
            if text:
                out.append({"role": "system", "content": text})
        else:
            raise InvalidRequest(f"{where}.role: Input should be 'user' or 'assistant'.",
                                 param=f"{where}.role")
    return out


def _blocks(content, where: str) -> list:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}: Input should be a string or an array of content "
                             "blocks.", param=where)
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise InvalidRequest(f"{where}.{j}: Input should be a content block with a "
                                 "'type'.", param=f"{where}.{j}")
    return content


def _text(content, where: str) -> str:
    """Text-only content (system prompts, tool results) as one string."""
    if content is None:
        return ""
    texts = []
    for j, block in enumerate(_blocks(content, where)):
        if block["type"] != "text" or not isinstance(block.get("text"), str):
            raise InvalidRequest(f"{where}.{j}: only text blocks are supported here.",
                                 param=f"{where}.{j}")
        texts.append(block["text"])
    return TEXT_JOIN.join(t for t in texts if t)


def _user(blocks: list, where: str) -> list:
    """Tool messages for the tool results, then one user message with everything else."""
    tools, parts = [], []
    for j, block in enumerate(blocks):
        here = f"{where}.content.{j}"
        if block["type"] == "tool_result":
            message, images = _tool_result(block, here)
            tools.append(message)
            parts += images
        else:
            parts.append(_part(block, here))
    return tools + ([{"role": "user", "content": _content(parts)}] if parts else [])


def _content(parts: list):
    if all(p["type"] == "text" for p in parts):
        return TEXT_JOIN.join(p["text"] for p in parts)
    return parts


def _part(block: dict, where: str) -> dict:
    kind = block["type"]
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise InvalidRequest(f"{where}.text: Field required.", param=f"{where}.text")
        return {"type": "text", "text": block["text"]}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _image_url(block, where)}}
    if kind == "document":
        return _document(block, where)
    raise InvalidRequest(f"{where}.type: '{kind}' blocks cannot be sent to this model.",
                         param=f"{where}.type")


def _source(block: dict, where: str) -> dict:
    source = block.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("type"), str):
        raise InvalidRequest(f"{where}.source: Field required.", param=f"{where}.source")
    return source


def _image_url(block: dict, where: str) -> str:
    source = _source(block, where)
    if source["type"] == "base64" and isinstance(source.get("media_type"), str) \
            and isinstance(source.get("data"), str):
        return f"data:{source['media_type']};base64,{source['data']}"
    if source["type"] == "url" and isinstance(source.get("url"), str):
        return source["url"]
    raise InvalidRequest(f"{where}.source: only base64 and URL image sources can be sent to "
                         "this model (file ids are Anthropic's own).", param=f"{where}.source")


def _document(block: dict, where: str) -> dict:
    source = _source(block, where)
    if source["type"] == "base64" and source.get("media_type") == "application/pdf" \
            and isinstance(source.get("data"), str):
        title = block.get("title") if isinstance(block.get("title"), str) else "document"
        return {"type": "file", "file": {"filename": f"{title}.pdf",
                                         "file_data": f"data:application/pdf;base64,"
                                                      f"{source['data']}"}}
    if source["type"] == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    if source["type"] == "content":
        return {"type": "text", "text": _text(source.get("content"), f"{where}.source.content")}
    raise InvalidRequest(f"{where}.source: only base64 PDF and text documents can be sent to "
                         "this model.", param=f"{where}.source")


def _tool_result(block: dict, where: str) -> tuple[dict, list]:
    """(the tool message, image parts the result held) for a tool_result block."""
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest(f"{where}.tool_use_id: Field required.", param=f"{where}.tool_use_id")
    content = block.get("content")
    texts, images = [], []
    for k, inner in enumerate(_blocks(content, f"{where}.content") if content else ()):
        part = _part(inner, f"{where}.content.{k}")
        (texts if part["type"] == "text" else images).append(part)
    text = TEXT_JOIN.join(p["text"] for p in texts)
    if block.get("is_error") is True:
        # OpenAI's tool message has no error flag; Gemini's functionResponse documents an
        # "error" member, which its translation makes of a JSON object like this one.
        text = json.dumps({"error": text}, ensure_ascii=False)
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def _assistant(blocks: list, where: str) -> list:
    texts, calls = [], []
    for j, block in enumerate(blocks):
        kind, here = block["type"], f"{where}.content.{j}"
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(_tool_call(block, here))
        elif kind not in _SKIPPED_ASSISTANT_BLOCKS:
            raise InvalidRequest(f"{here}.type: '{kind}' blocks cannot be sent to this model.",
                                 param=f"{here}.type")
    if not texts and not calls:
        return []
    message: dict = {"role": "assistant", "content": TEXT_JOIN.join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return [message]


def _tool_call(block: dict, where: str) -> dict:
    if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str) or \
            not isinstance(block.get("input"), dict):
        raise InvalidRequest(f"{where}: a tool_use block needs an 'id', a 'name' and an "
                             "object 'input'.", param=where)
    return {"id": block["id"], "type": "function",
            "function": {"name": block["name"],
                         "arguments": json.dumps(block["input"], ensure_ascii=False)}}
