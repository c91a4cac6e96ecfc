"""Anthropic Messages API answers (messages and errors) in OpenAI's Chat Completions format."""
from __future__ import annotations

import json
import time

# https://docs.anthropic.com/en/api/handling-stop-reasons
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# https://docs.anthropic.com/en/api/errors: Anthropic error type → (OpenAI type, code, status).
ERROR_TYPES = {
    "invalid_request_error": ("invalid_request_error", None, 400),
    "authentication_error": ("authentication_error", "invalid_api_key", 401),
    "billing_error": ("insufficient_quota", "insufficient_quota", 402),
    "permission_error": ("permission_error", "permission_denied", 403),
    "not_found_error": ("invalid_request_error", "not_found", 404),
    "request_too_large": ("invalid_request_error", "request_too_large", 413),
    "rate_limit_error": ("rate_limit_error", "rate_limit_exceeded", 429),
    "api_error": ("server_error", None, 500),
    "timeout_error": ("server_error", "timeout", 504),
    "overloaded_error": ("server_error", "overloaded", 529),
}


def finish_reason(stop_reason) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def error_status(error_type) -> int:
    """The HTTP status Anthropic documents for an error type (502 when unknown)."""
    if not isinstance(error_type, str):
        return 502
    return ERROR_TYPES.get(error_type, (None, None, 502))[2]


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def openai_usage(usage: dict | None) -> dict | None:
    """OpenAI usage from Anthropic's, whose input_tokens exclude prompt-cache reads and writes."""
    if not isinstance(usage, dict) or not isinstance(usage.get("input_tokens"), int):
        return None
    cached = _count(usage.get("cache_read_input_tokens"))
    prompt = usage["input_tokens"] + cached + _count(usage.get("cache_creation_input_tokens"))
    completion = _count(usage.get("output_tokens"))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}


def completion_body(message: dict, model: str) -> tuple[bytes, dict | None]:
    """(chat.completion JSON, OpenAI usage) for an Anthropic `message` object."""
    if not isinstance(message, dict) or message.get("type") != "message" or \
            not isinstance(message.get("content"), list):
        raise ValueError("not an Anthropic message object")
    texts, tool_calls = [], []
    for block in message["content"]:
        if not isinstance(block, dict):
            raise ValueError("content block is not an object")
        if block.get("type") == "text":
            texts.append(block.get("text") or "")
        elif block.get("type") == "tool_use":
            tool_calls.append({"id": block.get("id"), "type": "function",
                               "function": {"name": block.get("name"),
                                            "arguments": json.dumps(block.get("input") or {},
                                                                    ensure_ascii=False)}})
    reply = {"role": "assistant",
             "content": "".join(texts) if texts or not tool_calls else None,
             "refusal": None}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    usage = openai_usage(message.get("usage"))
    body = {"id": message.get("id"), "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": None,
            "choices": [{"index": 0, "message": reply, "logprobs": None,
                         "finish_reason": finish_reason(message.get("stop_reason"))}],
            "usage": usage}
    return json.dumps(body, ensure_ascii=False).encode(), usage
