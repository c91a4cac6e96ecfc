"""OpenAI Chat Completions answers as Responses API `response` objects.

The object per https://platform.openai.com/docs/api-reference/responses/object: output
items `message` (with `output_text` parts) and `function_call` (naming its namespace for a
namespaced tool), `status` `completed`, or `incomplete` with `incomplete_details.reason`
`max_output_tokens` or `content_filter` where chat's finish reason says so; usage in
Responses' names. The request's own settings are echoed, as OpenAI does.
"""
from __future__ import annotations

import secrets
import time

from ..anthropic_messages.from_chat import first_choice, listed, text_of
from .usage import responses_usage

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def skeleton(body: dict, model: str, response_id: str) -> dict:
    """The response object before any output: what the request asked for, echoed."""
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    return {"id": response_id, "object": "response", "created_at": int(time.time()),
            "status": "in_progress", "background": False, "error": None,
            "incomplete_details": None, "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"), "model": model,
            "output": [], "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": None,
            "reasoning": {"effort": reasoning.get("effort"), "summary": None},
            "store": False, "temperature": body.get("temperature", 1.0),
            "text": {"format": text.get("format") or {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0), "truncation": "disabled", "usage": None,
            "user": None, "metadata": body.get("metadata") or {}}


def finished(response: dict, output: list, finish_reason, usage) -> dict:
    """The response completed (or incomplete) with `output` and chat's `usage`."""
    reason = _INCOMPLETE.get(finish_reason) if isinstance(finish_reason, str) else None
    return {**response, "status": "incomplete" if reason else "completed",
            "incomplete_details": {"reason": reason} if reason else None,
            "output": output, "usage": responses_usage(usage)}


def message_item(item_id: str, text: str, status: str = "completed") -> dict:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant",
            "content": [output_text(text)] if status == "completed" else []}


def output_text(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def call_item(item_id: str, call_id: str, name: str, arguments: str, namespaced: dict,
              status: str = "completed") -> dict:
    """A function_call item; a namespaced tool's call names its namespace and own name."""
    item = {"id": item_id, "type": "function_call", "status": status,
            "arguments": arguments, "call_id": call_id, "name": name}
    if name in namespaced:
        item["namespace"], item["name"] = namespaced[name]
    return item


def response_body(completion: dict, body: dict, model: str, namespaced: dict) -> dict:
    """The Responses object for a `chat.completion`; ValueError if it is none."""
    choice, reply = first_choice(completion)
    output: list = []
    text = text_of(reply.get("content")) or text_of(reply.get("refusal"))
    if text:
        output.append(message_item(new_id("msg"), text))
    for call in listed(reply.get("tool_calls")):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise ValueError("a tool call without a function")
        arguments = function.get("arguments")
        output.append(call_item(new_id("fc"), call.get("id") or new_id("call"),
                                function.get("name") or "",
                                arguments if isinstance(arguments, str) else "{}", namespaced))
    response = skeleton(body, model, new_id("resp"))
    return finished(response, output, choice.get("finish_reason"), completion.get("usage"))
