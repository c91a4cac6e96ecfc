"""OpenAI Chat Completions answers as Anthropic Messages API answers.

A `message` object per https://docs.anthropic.com/en/api/messages (content blocks `text`
and `tool_use`, `stop_reason`, `usage`). OpenAI's finish reasons map to Anthropic's stop
reasons (https://docs.anthropic.com/en/api/handling-stop-reasons); OpenAI does not say
which stop sequence ended an answer, so such an end is reported as `end_turn`. OpenAI's
prompt_tokens include cached tokens, which Anthropic counts apart from input_tokens.
"""
from __future__ import annotations

import json
import secrets

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(finish_reason, called_tools: bool) -> str:
    """Anthropic's stop reason; an answer that called tools stopped for them (some
    OpenAI-style servers say "stop" then)."""
    reason = STOP_REASONS.get(finish_reason, "end_turn") if isinstance(finish_reason, str) \
        else "end_turn"
    return "tool_use" if called_tools and reason == "end_turn" else reason


def message_id(completion_id) -> str:
    """An Anthropic-style message id carrying the upstream's id where it has one."""
    if isinstance(completion_id, str) and completion_id:
        return "msg_" + completion_id.removeprefix("chatcmpl-")
    return "msg_" + secrets.token_hex(12)


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def anthropic_usage(usage) -> dict:
    """Anthropic's usage object for an OpenAI usage object (zeros where it has none)."""
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("prompt_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    prompt = _count(usage.get("prompt_tokens"))
    return {"input_tokens": max(prompt - cached, 0),
            "output_tokens": _count(usage.get("completion_tokens")),
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}


def text_of(content) -> str:
    """A message's or delta's content as text (a string, or an array of text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def tool_input(arguments) -> dict:
    """A tool call's arguments (a JSON object string) as the tool_use block's input."""
    if arguments in (None, ""):
        return {}
    value = json.loads(arguments) if isinstance(arguments, str) else arguments
    if not isinstance(value, dict):
        raise ValueError("tool call arguments are not a JSON object")
    return value


def first_choice(completion) -> tuple[dict, dict]:
    """A `chat.completion`'s first choice and its message ({} if it has none); ValueError
    if it is not a chat.completion."""
    choices = completion.get("choices") if isinstance(completion, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("not a chat.completion object")
    choice = choices[0]
    reply = choice.get("message")
    return choice, reply if isinstance(reply, dict) else {}


def message_body(completion: dict, model: str) -> dict:
    """The Anthropic `message` for a `chat.completion` object; ValueError if it is none."""
    choice, reply = first_choice(completion)
    content: list = []
    text = text_of(reply.get("content")) or text_of(reply.get("refusal"))
    if text:
        content.append({"type": "text", "text": text})
    for call in listed(reply.get("tool_calls")):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise ValueError("a tool call without a function")
        content.append({"type": "tool_use", "id": call.get("id") or new_tool_id(),
                        "name": function.get("name") or "",
                        "input": tool_input(function.get("arguments"))})
    return {"id": message_id(completion.get("id")), "type": "message", "role": "assistant",
            "model": model, "content": content,
            "stop_reason": stop_reason(choice.get("finish_reason"),
                                       any(b["type"] == "tool_use" for b in content)),
            "stop_sequence": None,
            "usage": anthropic_usage(completion.get("usage"))}


def listed(value) -> list:
    """`value` if it is a JSON array, else an empty one (null and absent alike)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("an array was expected")
    return value


def new_tool_id() -> str:
    return "toolu_" + secrets.token_hex(12)
