"""An OpenAI Chat Completions body as an Anthropic Messages API body.

Field names and ranges follow https://docs.anthropic.com/en/api/messages. The API rejects
fields it does not know, so OpenAI parameters without an Anthropic counterpart are left out;
those whose absence would change what the client gets back are refused with a 400 instead.
"""
from __future__ import annotations

import hashlib
import numbers

from ...errors import InvalidRequest
from ..openai_input import (named_function, read_array, read_response_format, read_stop,
                            read_tool_choice)
from .messages import to_anthropic

# Anthropic requires max_tokens; OpenAI's default is "as much as the model allows". The
# largest value every model of a family accepts (models overview: Claude 3 Haiku and Opus
# stop at 4,096 output tokens, every later model allows at least 8,192).
DEFAULT_MAX_TOKENS = 8192
LEGACY_MAX_TOKENS = 4096
_LEGACY_PREFIXES = ("claude-3-haiku", "claude-3-opus", "claude-3-sonnet")


def build_body(body: dict, model: str, stream: bool) -> dict:
    """The Anthropic request body for the client's OpenAI `body` (which is not modified)."""
    _refuse_unsupported(body)
    system, messages = to_anthropic(body["messages"])
    out: dict = {"model": model, "max_tokens": max_tokens(body, model), "messages": messages}
    if system:
        out["system"] = system
    out.update(sampling(body))
    if body.get("top_k") is not None:  # Anthropic's own sampling knob, sent as extra_body
        out["top_k"] = _positive_int(body["top_k"], "top_k", minimum=0)
    stop = stop_sequences(body.get("stop"))
    if stop:
        out["stop_sequences"] = stop
    user = body.get("user") or body.get("safety_identifier")
    if user is not None:
        if not isinstance(user, str):
            raise InvalidRequest("'user' must be a string.", param="user", code="invalid_type")
        out["metadata"] = {"user_id": user_id(user)}
    out.update(tools_fields(body))
    output_format = _output_format(body.get("response_format"))
    if output_format:
        out["output_config"] = {"format": output_format}
    if stream:
        out["stream"] = True
    return out


def _refuse_unsupported(body: dict) -> None:
    """400 for a parameter whose silent removal would change the answer the client expects."""
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise InvalidRequest("'n' must be a positive integer.", param="n", code="invalid_type")
    if n is not None and n > 1:
        raise InvalidRequest("This model returns one choice per request; 'n' must be 1.",
                             param="n", code="unsupported_value")
    if body.get("logprobs") is True:
        raise InvalidRequest("This model does not return log probabilities; 'logprobs' is not "
                             "supported.", param="logprobs", code="unsupported_parameter")
    modalities = body.get("modalities")
    if modalities is not None and (not isinstance(modalities, list)
                                   or not all(isinstance(m, str) for m in modalities)):
        raise InvalidRequest("'modalities' must be an array of strings.", param="modalities",
                             code="invalid_type")
    if body.get("audio") is not None or "audio" in (modalities or ()):
        raise InvalidRequest("This model does not produce audio.", param="modalities",
                             code="unsupported_parameter")
    for name in ("functions", "function_call"):
        if body.get(name) is not None:
            raise InvalidRequest(f"'{name}' is deprecated and not supported for this model; "
                                 "use 'tools' and 'tool_choice'.", param=name,
                                 code="unsupported_parameter")
    effort = body.get("reasoning_effort")
    if effort not in (None, "none", "minimal"):
        # Claude thinks only when asked, and its thinking blocks would have to come back
        # signed in every later tool turn, which OpenAI's format cannot carry. Without
        # thinking ("none", "minimal") is what it does anyway.
        raise InvalidRequest("'reasoning_effort' is not supported for this model: extended "
                             "thinking is not available through the OpenAI format; leave it "
                             "out or use 'none'.", param="reasoning_effort",
                             code="unsupported_parameter")
    if body.get("web_search_options") is not None:
        raise InvalidRequest("Web search is not supported for this model.",
                             param="web_search_options", code="unsupported_parameter")


def max_tokens(body: dict, model: str) -> int:
    """The client's max_completion_tokens or max_tokens, else the model family's default."""
    for name in ("max_completion_tokens", "max_tokens"):
        if body.get(name) is not None:
            return _positive_int(body[name], name, minimum=1)
    return LEGACY_MAX_TOKENS if model.startswith(_LEGACY_PREFIXES) else DEFAULT_MAX_TOKENS


def stop_sequences(stop) -> list:
    """`stop` as Anthropic's stop_sequences: empty ones left out, whitespace-only ones refused."""
    stop = [s for s in read_stop(stop) if s]
    if any(not s.strip() for s in stop):
        # Anthropic refuses them, and leaving one out would let the answer run past it.
        raise InvalidRequest("This model does not accept stop sequences made only of "
                             "whitespace (such as \"\\n\").", param="stop",
                             code="unsupported_value")
    return stop


# Anthropic's documented defaults: sending either at this value changes nothing.
_SAMPLING_DEFAULTS = {"temperature": 1, "top_p": 1}


def sampling(body: dict) -> dict:
    """`temperature` and `top_p` for Anthropic.

    Current Claude models refuse the two together, and OpenAI clients often send both with
    one left at its default (top_p 1); the one at Anthropic's default is then left out,
    since it changes nothing. Two real settings go as they are, for the model to judge.
    """
    out = {name: _unit_interval(body[name], name) for name in ("temperature", "top_p")
           if body.get(name) is not None}
    if len(out) == 2:
        for name, default in _SAMPLING_DEFAULTS.items():
            if out[name] == default:
                del out[name]
                break
    return out


# Anthropic's limit on metadata.user_id.
MAX_USER_ID_CHARS = 256


def user_id(user: str) -> str:
    """OpenAI's `user` as Anthropic's metadata.user_id: a longer one as its SHA-256.

    Both are opaque ids for abuse tracking; a digest keeps one end user one id.
    """
    if len(user) <= MAX_USER_ID_CHARS:
        return user
    return hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()


def tools_fields(body: dict) -> dict:
    """Anthropic `tools` and `tool_choice` from the OpenAI tool fields."""
    tools = read_array(body.get("tools"), "tools")
    if not tools:
        return {}  # a tool_choice without tools has nothing to choose from
    out: dict = {"tools": [_tool(tool, f"tools[{i}]") for i, tool in enumerate(tools)]}
    choice = tool_choice(body.get("tool_choice"))
    if body.get("parallel_tool_calls") is False and choice.get("type") != "none":
        choice = {"type": "auto", **choice, "disable_parallel_tool_use": True}
    if choice:
        out["tool_choice"] = choice
    return out


def _tool(tool, param: str) -> dict:
    function = named_function(tool)
    if function is None or tool.get("type") != "function":
        raise InvalidRequest(f"'{param}' must be a function tool with a 'function.name'.",
                             param=param, code="invalid_value")
    schema = function.get("parameters")
    if schema is None:
        schema = {"type": "object", "properties": {}}  # OpenAI: omitted means no arguments
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise InvalidRequest(f"'{param}.function.parameters' must be a JSON Schema of type "
                             "'object'.", param=f"{param}.function.parameters",
                             code="invalid_value")
    out = {"name": function["name"], "input_schema": schema}
    if isinstance(function.get("description"), str) and function["description"]:
        out["description"] = function["description"]
    return out


def tool_choice(choice) -> dict:
    """OpenAI tool_choice as Anthropic's: auto → auto, required → any, a function → tool."""
    if choice is None:
        return {}
    mode, name = read_tool_choice(choice)
    if name is not None:
        return {"type": "tool", "name": name}
    return {"type": {"auto": "auto", "none": "none", "required": "any"}[mode]}


def _output_format(response_format) -> dict | None:
    # Anthropic's structured outputs take a JSON schema; there is no schema-less JSON mode
    # (https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs).
    kind, schema = read_response_format(response_format, "an object")
    if kind == "text":
        return None
    if kind == "json_schema":
        return {"type": "json_schema", "schema": schema}
    if kind == "json_object":
        raise InvalidRequest("JSON mode without a schema is not supported for this model; use "
                             "'response_format' of type 'json_schema'.",
                             param="response_format", code="unsupported_value")
    raise InvalidRequest("'response_format.type' must be 'text' or 'json_schema'.",
                         param="response_format", code="invalid_value")


def _unit_interval(value, name: str) -> float:
    # Anthropic's temperature and top_p range over [0, 1]; OpenAI's temperature reaches 2,
    # and sending it on would only earn Anthropic's 400.
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise InvalidRequest(f"'{name}' must be a number.", param=name, code="invalid_type")
    if not 0 <= value <= 1:
        raise InvalidRequest(f"'{name}' must be between 0 and 1 for this model, got {value}.",
                             param=name, code="unsupported_value")
    return value


def _positive_int(value, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest(f"'{name}' must be an integer.", param=name, code="invalid_type")
    if value < minimum:
        raise InvalidRequest(f"'{name}' must be at least {minimum}, got {value}.", param=name,
                             code="invalid_value")
    return value
