"""What a target model takes: its most output tokens, and its reasoning setting.

Claude Code asks for up to 64,000 output tokens, which most other models refuse outright
("max_tokens is too large"). Output limits per the providers' model pages:
https://platform.openai.com/docs/models, https://api-docs.deepseek.com/quick_start/pricing,
https://ai.google.dev/gemini-api/docs/models. A model not listed gets the client's value.

Reasoning: OpenAI's o-series and GPT-5 take `reasoning_effort`
(https://platform.openai.com/docs/guides/reasoning), other OpenAI models refuse it; xAI's
grok-3-mini takes low or high (https://docs.x.ai/docs/guides/reasoning); Gemini 2.5 and
later think, and the Gemini translation turns `reasoning_effort` into their thinkingConfig
(https://ai.google.dev/gemini-api/docs/thinking). Elsewhere there is nothing to set.
"""
from __future__ import annotations

import re

# Model name prefix → most output tokens; the longest matching prefix wins.
_OUTPUT_LIMITS = {
    "gpt-3.5-turbo": 4096,
    "gpt-4": 8192,
    "gpt-4-turbo": 4096, "gpt-4-0125": 4096, "gpt-4-1106": 4096,
    "gpt-4o": 16384, "gpt-4o-2024-05-13": 4096, "chatgpt-4o": 16384,
    "gpt-4.1": 32768,
    "gpt-5": 128000, "gpt-5-chat": 16384,
    "o1": 100000, "o1-mini": 65536, "o1-preview": 32768,
    "o3": 100000, "o4-mini": 100000,
    "deepseek-chat": 8192, "deepseek-reasoner": 65536,
    "gemini-1.5": 8192, "gemini-2.0": 8192, "gemini-2.5": 65536, "gemini-3": 65536,
}
_PREFIXES = sorted(_OUTPUT_LIMITS, key=len, reverse=True)

# Anthropic's effort levels (output_config.effort) in the common low/medium/high scale.
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
_OPENAI_REASONING = re.compile(r"(o\d|gpt-5(?!-chat))")
_GEMINI_GENERATION = re.compile(r"gemini-(\d+)(?:\.(\d+))?")


def _base_name(model: str) -> str:
    # "openai/gpt-4o" (OpenRouter) and "models/gemini-2.5-pro" name the same models.
    return model.rsplit("/", 1)[-1].lower()


def max_output_tokens(model: str) -> int | None:
    """The most output tokens `model` takes, or None when this proxy does not know it."""
    name = _base_name(model)
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return _OUTPUT_LIMITS[prefix]
    return None


def effort_level(thinking, effort) -> str | None:
    """"none", "low", "medium" or "high" from Anthropic's `thinking` and effort, or None
    when the client leaves it to the model (adaptive thinking without an effort)."""
    if isinstance(thinking, dict) and thinking.get("type") == "disabled":
        return "none"
    if effort is not None:
        return _EFFORTS[effort]
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int) and budget <= 4096:
            return "low"
        return "medium" if isinstance(budget, int) and budget <= 16384 else "high"
    return None


def reasoning_effort(provider: str, model: str, level: str | None) -> str | None:
    """The `reasoning_effort` value for the target, or None where it has no such setting."""
    if level is None:
        return None
    name = _base_name(model)
    if provider == "gemini":
        match = _GEMINI_GENERATION.match(name)
        if match and (int(match.group(1)), int(match.group(2) or 0)) >= (2, 5):
            return level
        return None
    if provider == "openai" and _OPENAI_REASONING.match(name):
        if level == "none":  # o-series cannot stop thinking; GPT-5 goes down to minimal
            return "minimal" if name.startswith("gpt-5") else "low"
        return level
    if provider == "grok" and name.startswith("grok-3-mini"):
        return "low" if level in ("none", "low") else "high"
    return None


EFFORT_VALUES = tuple(_EFFORTS)
