"""Gemini GenerateContentResponse objects as OpenAI chat completions.

Format per https://ai.google.dev/api/generate-content#generatecontentresponse: candidates
with content parts and a finishReason, promptFeedback when the prompt itself was blocked,
usageMetadata with token counts.
"""
from __future__ import annotations

import json
import secrets
import time

from .messages import new_call_id

# Gemini FinishReason → OpenAI finish_reason; reasons not listed (OTHER, LANGUAGE,
# MALFORMED_FUNCTION_CALL, ...) end the answer without a closer OpenAI equivalent: "stop".
FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}


def finish_reason(reason: str | None, has_tool_calls: bool) -> str | None:
    """OpenAI's finish_reason for a Gemini one (None while the candidate is unfinished)."""
    if not isinstance(reason, str) or not reason:
        return None
    mapped = FINISH_REASONS.get(reason, "stop")
    return "tool_calls" if has_tool_calls and mapped == "stop" else mapped


def completion_id(payload: dict) -> str:
    response_id = payload.get("responseId")
    if isinstance(response_id, str) and response_id:
        return "chatcmpl-" + response_id
    return "chatcmpl-" + secrets.token_hex(12)


def usage(payload: dict) -> dict | None:
    """usageMetadata in OpenAI's names; thinking tokens count as completion, as billed."""
    meta = payload.get("usageMetadata")
    if not isinstance(meta, dict):
        return None
    prompt = _count(meta, "promptTokenCount") + _count(meta, "toolUsePromptTokenCount")
    thoughts = _count(meta, "thoughtsTokenCount")
    completion = _count(meta, "candidatesTokenCount") + thoughts
    out = {"prompt_tokens": prompt, "completion_tokens": completion,
           "total_tokens": _count(meta, "totalTokenCount") or prompt + completion}
    cached = _count(meta, "cachedContentTokenCount")
    if cached:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    if thoughts:
        out["completion_tokens_details"] = {"reasoning_tokens": thoughts}
    return out


def _count(meta: dict, name: str) -> int:
    value = meta.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def split_parts(candidate: dict) -> tuple[str, list]:
    """(answer text, OpenAI tool calls) of a candidate; thought summaries are left out."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    texts, calls = [], []
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, dict) or part.get("thought") is True:
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        call = part.get("functionCall")
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            args = call.get("args") if isinstance(call.get("args"), dict) else {}
            signature = part.get("thoughtSignature")
            calls.append({"id": new_call_id(signature if isinstance(signature, str) else None),
                          "type": "function",
                          "function": {"name": call["name"], "arguments": json.dumps(args)}})
    return "".join(texts), calls


def logprobs(candidate: dict) -> dict | None:
    """Gemini's logprobsResult as OpenAI's choice.logprobs."""
    result = candidate.get("logprobsResult")
    if not isinstance(result, dict) or not isinstance(result.get("chosenCandidates"), list):
        return None
    tops = result.get("topCandidates") if isinstance(result.get("topCandidates"), list) else []
    content = []
    for i, chosen in enumerate(result["chosenCandidates"]):
        if not isinstance(chosen, dict):
            continue
        entry = _logprob(chosen)
        top = tops[i].get("candidates") if i < len(tops) and isinstance(tops[i], dict) else None
        entry["top_logprobs"] = [_logprob(c) for c in top or () if isinstance(c, dict)]
        content.append(entry)
    return {"content": content, "refusal": None}


def _logprob(candidate: dict) -> dict:
    token = candidate.get("token") if isinstance(candidate.get("token"), str) else ""
    logprob = candidate.get("logProbability")
    return {"token": token,
            "logprob": logprob if isinstance(logprob, (int, float)) else 0.0,
            "bytes": list(token.encode("utf-8"))}


def blocked_message(payload: dict) -> str | None:
    """The refusal text for a prompt Gemini blocked (promptFeedback.blockReason), or None."""
    feedback = payload.get("promptFeedback")
    reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
    if not isinstance(reason, str) or not reason or payload.get("candidates"):
        return None
    return f"The prompt was blocked by the provider (reason: {reason})."


def completion(model: str, payload: dict) -> dict:
    """A whole `chat.completion` for a non-streamed GenerateContentResponse."""
    if not isinstance(payload, dict):
        raise ValueError("not a GenerateContentResponse object")
    candidates = payload.get("candidates")
    refusal = blocked_message(payload)
    if refusal:
        choices = [{"index": 0, "message": {"role": "assistant", "content": None,
                                            "refusal": refusal},
                    "logprobs": None, "finish_reason": "content_filter"}]
    elif isinstance(candidates, list) and candidates:
        choices = [_choice(position, c) for position, c in enumerate(candidates)
                   if isinstance(c, dict)]
    else:
        raise ValueError("a GenerateContentResponse without candidates")
    out = {"id": completion_id(payload), "object": "chat.completion",
           "created": int(time.time()), "model": model, "choices": choices}
    counted = usage(payload)
    if counted:
        out["usage"] = counted
    return out


def _choice(position: int, candidate: dict) -> dict:
    text, calls = split_parts(candidate)
    finish = finish_reason(candidate.get("finishReason") or "STOP", bool(calls))
    message = {"role": "assistant",
               "content": text if text or not (calls or finish == "content_filter") else None,
               "refusal": None}
    if calls:
        message["tool_calls"] = calls
    index = candidate.get("index")
    return {"index": index if isinstance(index, int) else position, "message": message,
            "logprobs": logprobs(candidate), "finish_reason": finish}
