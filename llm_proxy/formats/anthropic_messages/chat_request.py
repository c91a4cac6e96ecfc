"""An Anthropic Messages request body as an OpenAI Chat Completions body, for one target.

Fields per https://docs.anthropic.com/en/api/messages. Those that only tune Anthropic's
service (prompt caching, context management, metadata, service tier, speed, region,
diagnostics) are left out; `thinking` and `output_config.effort` become the target's
reasoning setting where it has one (limits.py); a field that would change the answer and
has no counterpart at the target is refused with a 400 naming it, as is an unknown one,
which Anthropic itself refuses.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

from ...errors import InvalidRequest
# Providers that take `stream_options.include_usage`; others may refuse what they do not know.
from ...providers.openai.adapter import STREAM_USAGE_PROVIDERS
from .chat_messages import chat_messages
from .limits import EFFORT_VALUES, effort_level, max_output_tokens, reasoning_effort

DROPPED = frozenset({"cache_control", "context_management", "metadata", "service_tier",
                     "speed", "inference_geo", "diagnostics"})
TRANSLATED = frozenset({"model", "messages", "max_tokens", "system", "stop_sequences",
                        "stream", "temperature", "top_p", "top_k", "tools", "tool_choice",
                        "thinking", "output_config"})
REFUSED = {
    "container": "code execution containers are Anthropic's own",
    "mcp_servers": "remote MCP servers are called by Anthropic's API itself",
}
# Tool types that run on Anthropic's side (web search, code execution...) or that only
# Claude is trained for (bash, text editor, computer use): a plain tool has no type or
# "custom" (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview).
CUSTOM_TOOL_TYPES = (None, "custom")


@dataclass(frozen=True)
class ChatPlan:
    """The OpenAI chat body for one target, and the max_tokens sent when it was capped."""
    body: dict
    capped_max_tokens: int | None = None


def chat_body(body: dict, provider: str, model: str) -> ChatPlan:
    """The OpenAI chat body for `body`, for `provider`'s `model` (the wire name)."""
    for name in body:
        if name in REFUSED:
            raise InvalidRequest(f"{name}: not supported for this model: {REFUSED[name]}.",
                                 param=name)
        if name not in TRANSLATED and name not in DROPPED:
            raise InvalidRequest(f"{name}: Extra inputs are not permitted.", param=name)
    out: dict = {"model": model, "messages": chat_messages(body)}
    asked = body.get("max_tokens")  # none in a count_tokens request
    limit = max_output_tokens(model)
    sent = min(asked, limit) if limit and asked else asked
    if sent:
        # OpenAI's reasoning models take only max_completion_tokens, which every OpenAI
        # model takes; other OpenAI-style servers know max_tokens.
        out["max_completion_tokens" if provider == "openai" else "max_tokens"] = sent
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = _number(body[name], name)
    if body.get("top_k") is not None:
        if provider != "gemini":
            raise InvalidRequest("top_k: not supported for this model (its API has no top-k "
                                 "sampling).", param="top_k")
        out["top_k"] = body["top_k"]
    stop = body.get("stop_sequences")
    if stop:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise InvalidRequest("stop_sequences: Input should be a list of strings.",
                                 param="stop_sequences")
        out["stop"] = stop
    out.update(_tools(body))
    config = _output_config(body.get("output_config"))
    effort = reasoning_effort(provider, model,
                              effort_level(_thinking(body.get("thinking")), config.get("effort")))
    if effort:
        out["reasoning_effort"] = effort
    if config.get("format"):
        out["response_format"] = {"type": "json_schema",
                                  "json_schema": {"name": "output", "schema": config["format"]}}
    if body.get("stream"):
        out["stream"] = True
        if provider in STREAM_USAGE_PROVIDERS:
            out["stream_options"] = {"include_usage": True}
    return ChatPlan(out, sent if sent != asked else None)


def _number(value, name: str):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise InvalidRequest(f"{name}: Input should be a valid number.", param=name)
    return value


def _thinking(thinking):
    if thinking is None:
        return None
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "disabled", "adaptive"):
        raise InvalidRequest("thinking.type: Input should be 'enabled', 'disabled' or "
                             "'adaptive'.", param="thinking.type")
    return thinking


def _output_config(config) -> dict:
    """{"effort": ..., "format": schema} from output_config, each only when given."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise InvalidRequest("output_config: Input should be an object.", param="output_config")
    out = {}
    for name, value in config.items():
        if value is None:
            continue
        if name == "effort":
            if value not in EFFORT_VALUES:
                raise InvalidRequest(f"output_config.effort: Input should be one of "
                                     f"{', '.join(EFFORT_VALUES)}.", param="output_config.effort")
            out["effort"] = value
        elif name == "format":
            if not isinstance(value, dict) or value.get("type") != "json_schema" or \
                    not isinstance(value.get("schema"), dict):
                raise InvalidRequest("output_config.format: Input should be {\"type\": "
                                     "\"json_schema\", \"schema\": {...}}.",
                                     param="output_config.format")
            out["format"] = value["schema"]
        else:
            raise InvalidRequest(f"output_config.{name}: Extra inputs are not permitted.",
                                 param=f"output_config.{name}")
    return out


def _tools(body: dict) -> dict:
    """OpenAI `tools`, `tool_choice` and `parallel_tool_calls` from Anthropic's tool fields."""
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise InvalidRequest("tools: Input should be a valid list.", param="tools")
    out: dict = {}
    if tools:
        out["tools"] = [_tool(tool, f"tools.{i}") for i, tool in enumerate(tools)]
    choice = body.get("tool_choice")
    if choice is None:
        return out
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise InvalidRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or "
                             "'none'.", param="tool_choice.type")
    if not tools:
        if kind in ("any", "tool"):
            raise InvalidRequest("tool_choice: a tool must be used, but 'tools' is empty.",
                                 param="tool_choice")
        return out  # nothing to choose from: OpenAI refuses a tool_choice without tools
    if kind == "tool":
        if not isinstance(choice.get("name"), str):
            raise InvalidRequest("tool_choice.name: Field required.", param="tool_choice.name")
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        out["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[kind]
    if choice.get("disable_parallel_tool_use") is True and kind != "none":
        out["parallel_tool_calls"] = False
    return out


def _tool(tool, where: str) -> dict:
    if not isinstance(tool, dict):
        raise InvalidRequest(f"{where}: Input should be an object.", param=where)
    if tool.get("type") not in CUSTOM_TOOL_TYPES:
        raise InvalidRequest(f"{where}.type: the tool type '{tool.get('type')}' runs on or "
                             "is trained into Anthropic's side and is not supported for this "
                             "model; send a custom tool with an input_schema.",
                             param=f"{where}.type")
    schema = tool.get("input_schema")
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise InvalidRequest(f"{where}.name: Field required.", param=f"{where}.name")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise InvalidRequest(f"{where}.input_schema.type: Input should be 'object'.",
                             param=f"{where}.input_schema")
    function = {"name": tool["name"], "parameters": schema}
    if isinstance(tool.get("description"), str) and tool["description"]:
        function["description"] = tool["description"]
    if tool.get("strict") is True:
        function["strict"] = True
    return {"type": "function", "function": function}
