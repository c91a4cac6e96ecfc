"""OpenAI Chat Completions answers as Gemini GenerateContentResponses.

A GenerateContentResponse per https://ai.google.dev/api/generate-content#generatecontentresponse:
one candidate whose content (role `model`) holds text and functionCall parts (each with
the call's id, which the client names again in its functionResponse), a finishReason,
`usageMetadata` (reasoning tokens as thoughtsTokenCount, apart from the candidates'
tokens, as Gemini counts them), `modelVersion` and `responseId`.
"""
from __future__ import annotations

import secrets

from ..anthropic_messages.from_chat import first_choice, listed, text_of, tool_input

FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP",
                  "function_call": "STOP", "content_filter": "SAFETY"}


def finish_reason(reason) -> str:
    return FINISH_REASONS.get(reason, "STOP") if isinstance(reason, str) else "STOP"


def response_id(completion_id) -> str:
    if isinstance(completion_id, str) and completion_id:
        return completion_id.removeprefix("chatcmpl-")
    return secrets.token_hex(12)


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_metadata(usage) -> dict:
    """Gemini's usageMetadata for an OpenAI usage object (zeros where it has none)."""
    usage = usage if isinstance(usage, dict) else {}
    prompt, completion = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
    details = usage.get("completion_tokens_details")
    thoughts = min(_count(details.get("reasoning_tokens")), completion) \
        if isinstance(details, dict) else 0
    out = {"promptTokenCount": prompt, "candidatesTokenCount": completion - thoughts,
           "totalTokenCount": _count(usage.get("total_tokens")) or prompt + completion}
    cached = usage.get("prompt_tokens_details")
    if isinstance(cached, dict) and _count(cached.get("cached_tokens")):
        out["cachedContentTokenCount"] = _count(cached["cached_tokens"])
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    return out


def function_call(call) -> dict:
    """The functionCall part of an OpenAI tool call (its arguments a JSON object string)."""
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        raise ValueError("a tool call without a function")
    out = {"name": function.get("name") or "", "args": tool_input(function.get("arguments"))}
    if isinstance(call.get("id"), str) and call["id"]:
        out = {"id": call["id"], **out}
    return {"functionCall": out}


def candidate(parts: list, finish: str | None) -> dict:
    out: dict = {"content": {"parts": parts, "role": "model"}}
    if finish:
        out["finishReason"] = finish
    out["index"] = 0
    return out


def response_body(completion: dict, model: str) -> dict:
    """The GenerateContentResponse for a `chat.completion`; ValueError if it is none."""
    choice, reply = first_choice(completion)
    parts: list = []
    text = text_of(reply.get("content")) or text_of(reply.get("refusal"))
    if text:
        parts.append({"text": text})
    parts += [function_call(call) for call in listed(reply.get("tool_calls"))]
    return {"candidates": [candidate(parts or [{"text": ""}],
                                     finish_reason(choice.get("finish_reason")))],
            "usageMetadata": usage_metadata(completion.get("usage")),
            "modelVersion": model, "responseId": response_id(completion.get("id"))}
