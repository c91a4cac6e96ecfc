"""A Responses request body as an OpenAI Chat Completions body, for one target.

Fields per https://platform.openai.com/docs/api-reference/responses/create. The target
holds no state, so `store: true`, `previous_response_id`, `conversation` and `background`
are refused; a request without `store` is served statelessly, as a stateless proxy
can. What only tunes OpenAI's service (prompt caching, client metadata, encrypted
reasoning, service tier, safety ids, truncation) is left out; `reasoning.effort` becomes
the target's reasoning setting where it has one (limits.py); a field that would change the
answer and cannot be carried is a 400 naming it, as is one OpenAI does not know.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

from ...errors import InvalidRequest
# Providers that take `stream_options.include_usage`; others may refuse what they do not know.
from ...providers.openai.adapter import STREAM_USAGE_PROVIDERS
from ..anthropic_messages.limits import reasoning_effort
from .chat_input import chat_messages
from .chat_tools import chat_tools

DROPPED = frozenset({"prompt_cache_key", "prompt_cache_retention", "client_metadata",
                     "include", "service_tier", "safety_identifier", "user", "metadata",
                     "truncation", "stream_options"})
TRANSLATED = frozenset({"model", "input", "instructions", "tools", "tool_choice",
                        "parallel_tool_calls", "max_output_tokens", "temperature", "top_p",
                        "text", "reasoning", "stream", "store", "previous_response_id"})
REFUSED = {
    "conversation": "conversations are stored at OpenAI",
    "background": "background responses are kept at OpenAI until fetched",
    "prompt": "prompt templates are stored at OpenAI",
    "top_logprobs": "log probabilities are not returned for this model",
    "max_tool_calls": "the limit is applied by OpenAI's own tool loop",
}
# Responses' effort levels in the common none/low/medium/high scale of limits.py.
_EFFORTS = {"none": "none", "minimal": "low", "low": "low", "medium": "medium",
            "high": "high", "xhigh": "high"}
_INCLUDE_REFUSED = {"message.output_text.logprobs"}


@dataclass(frozen=True)
class ChatPlan:
    """The chat body for one target, and the namespaced tool names: chat → (ns, name)."""
    body: dict
    namespaced: dict


def chat_body(body: dict, provider: str, model: str) -> ChatPlan:
    """The OpenAI chat body for the Responses `body`, for `provider`'s `model`."""
    _refuse_unsupported(body)
    out: dict = {"model": model, "messages": chat_messages(body)}
    limit = body.get("max_output_tokens")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidRequest("'max_output_tokens' must be a positive integer.",
                                 param="max_output_tokens", code="invalid_type")
        out["max_tokens"] = limit
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise InvalidRequest(f"'{name}' must be a number.", param=name,
                                     code="invalid_type")
            out[name] = value
    tools, namespaced = chat_tools(body)
    out.update(tools)
    effort = reasoning_effort(provider, model, _effort(body.get("reasoning")))
    if effort:
        out["reasoning_effort"] = effort
    response_format = _response_format(body.get("text"))
    if response_format:
        out["response_format"] = response_format
    if body.get("stream"):
        out["stream"] = True
        if provider in STREAM_USAGE_PROVIDERS:
            out["stream_options"] = {"include_usage": True}
    return ChatPlan(out, namespaced)


def _refuse_unsupported(body: dict) -> None:
    for name, value in body.items():
        if name in REFUSED:
            if value not in (None, False):
                raise InvalidRequest(f"'{name}' is not supported for this model: "
                                     f"{REFUSED[name]}.", param=name,
                                     code="unsupported_parameter")
        elif name not in TRANSLATED and name not in DROPPED:
            raise InvalidRequest(f"Unrecognized request argument supplied: {name}", param=name,
                                 code="unknown_parameter")
    if body.get("store") is True:
        raise InvalidRequest("'store': true is not supported for this model: this provider "
                             "cannot hold the response; send 'store': false.", param="store",
                             code="unsupported_value")
    if body.get("store") not in (None, True, False):
        raise InvalidRequest("'store' must be a boolean.", param="store", code="invalid_type")
    if body.get("previous_response_id") is not None:
        raise InvalidRequest("'previous_response_id' is not supported for this model: this "
                             "provider holds no earlier responses; send the whole "
                             "conversation as 'input'.", param="previous_response_id",
                             code="unsupported_parameter")
    include = body.get("include")
    if include is not None and (not isinstance(include, list)
                                or not all(isinstance(i, str) for i in include)):
        raise InvalidRequest("'include' must be an array of strings.", param="include",
                             code="invalid_type")
    for value in include or ():
        if value in _INCLUDE_REFUSED:
            raise InvalidRequest(f"'include' of '{value}' is not supported for this model.",
                                 param="include", code="unsupported_value")


def _effort(reasoning) -> str | None:
    if reasoning is None:
        return None
    if not isinstance(reasoning, dict):
        raise InvalidRequest("'reasoning' must be an object.", param="reasoning",
                             code="invalid_type")
    effort = reasoning.get("effort")
    if effort is None:
        return None
    if effort not in _EFFORTS:
        raise InvalidRequest(f"Invalid value for 'reasoning.effort': expected one of "
                             f"{', '.join(_EFFORTS)}.", param="reasoning.effort",
                             code="invalid_value")
    return _EFFORTS[effort]


def _response_format(text) -> dict | None:
    """Chat's response_format for `text.format` (text: none; verbosity is a hint, left out)."""
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(text, dict) or (fmt is not None and not isinstance(fmt, dict)):
        raise InvalidRequest("'text' must be an object with an optional 'format' object.",
                             param="text", code="invalid_type")
    kind = (fmt or {}).get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        if not isinstance(fmt.get("name"), str) or not isinstance(fmt.get("schema"), dict):
            raise InvalidRequest("'text.format' of type json_schema needs a 'name' and a "
                                 "'schema' object.", param="text.format", code="invalid_value")
        schema = {"name": fmt["name"], "schema": fmt["schema"]}
        for name in ("description", "strict"):
            if fmt.get(name) is not None:
                schema[name] = fmt[name]
        return {"type": "json_schema", "json_schema": schema}
    raise InvalidRequest("Invalid value for 'text.format.type': expected text, json_object or "
                         "json_schema.", param="text.format.type", code="invalid_value")
