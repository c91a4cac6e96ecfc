"""Token usage between the Responses API's shape and OpenAI chat's, which statistics keep.

Responses: `input_tokens`, `input_tokens_details.cached_tokens`, `output_tokens`,
`output_tokens_details.reasoning_tokens`, `total_tokens`
(https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage).
"""
from __future__ import annotations


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _detail(usage: dict, name: str, field: str) -> int:
    details = usage.get(name)
    return _count(details.get(field)) if isinstance(details, dict) else 0


def chat_usage(usage) -> dict | None:
    """OpenAI chat usage from a Responses usage object, or None when there is none."""
    if not isinstance(usage, dict) or not isinstance(usage.get("input_tokens"), int):
        return None
    prompt, completion = _count(usage["input_tokens"]), _count(usage.get("output_tokens"))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def responses_usage(usage) -> dict:
    """The Responses usage object for an OpenAI chat usage object (zeros where none)."""
    usage = usage if isinstance(usage, dict) else {}
    prompt, completion = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
    return {"input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": _detail(usage, "prompt_tokens_details",
                                                              "cached_tokens")},
            "output_tokens": completion,
            "output_tokens_details": {
                "reasoning_tokens": _detail(usage, "completion_tokens_details",
                                            "reasoning_tokens")},
            "total_tokens": prompt + completion}
