"""A token count for providers without a counting call: an upper bound, never below.

The bound is taken over the OpenAI chat body the request would be sent as. Each token
of a byte-level BPE vocabulary (OpenAI's, Llama 3's, Qwen's, DeepSeek's) stands for at
least one byte of text, and a SentencePiece one for at least one byte after at most one
prefix token, so a text of n UTF-8 bytes is at most n + 1 tokens. The chat template adds a
few tokens per message (OpenAI: 3 or 4, https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb)
and per tool; the margins below are well above those. An image costs at most what the
dearest of OpenAI's published formulas gives its largest tiling
(https://platform.openai.com/docs/guides/images-vision#calculating-costs). A PDF's
tokens cannot be bounded from its bytes (its text is compressed), so it is refused.
"""
from __future__ import annotations

import json

from ...errors import InvalidRequest

MESSAGE_OVERHEAD = 16
REPLY_PRIMING = 16
TOOL_OVERHEAD = 64
# gpt-4o-mini bills an image as 2833 + 5667 per 512 px tile, up to 8 tiles; the other
# models' formulas stay under 4,000 (gpt-4.1-nano: 1536 patches x 2.46).
IMAGE_TOKENS = {"gpt-4o-mini": 2833 + 8 * 5667}
DEFAULT_IMAGE_TOKENS = 4000


def _text(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass")) + 1


def _json(value) -> int:
    return _text(json.dumps(value, ensure_ascii=False))


def _image(model: str) -> int:
    name = model.rsplit("/", 1)[-1].lower()
    return next((v for k, v in IMAGE_TOKENS.items() if name.startswith(k)),
                DEFAULT_IMAGE_TOKENS)


def _content(content, model: str, where: str) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return _text(content)
    total = 0
    for part in content:
        if part["type"] == "text":
            total += _text(part["text"])
        elif part["type"] == "image_url":
            total += _image(model)
        else:
            raise InvalidRequest(f"{where}: the tokens of a PDF document cannot be estimated "
                                 "for this model; count_tokens needs an Anthropic or Gemini "
                                 "key for it.", param=where)
    return total


def estimate_tokens(chat: dict, model: str) -> int:
    """At least as many tokens as `model` will count for the OpenAI chat body `chat`."""
    total = REPLY_PRIMING
    for message in chat["messages"]:
        total += MESSAGE_OVERHEAD + _content(message.get("content"), model, "messages")
        for call in message.get("tool_calls") or ():
            total += TOOL_OVERHEAD + _json(call["function"])
        if message.get("tool_call_id"):
            total += _text(message["tool_call_id"])
    for tool in chat.get("tools") or ():
        total += TOOL_OVERHEAD + _json(tool["function"])
    for name in ("tool_choice", "response_format"):
        if name in chat:
            total += _json(chat[name])
    return total
