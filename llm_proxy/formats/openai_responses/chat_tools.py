"""Responses tools and tool_choice as OpenAI chat's, and the names of calls on the way back.

Responses tools are flat (`{"type": "function", "name", "description", "parameters",
"strict"}`, https://platform.openai.com/docs/guides/function-calling); a `namespace` tool
groups function tools under one name, and their calls come back naming both. Chat tools
have one name (letters, digits, `_` and `-`, which every provider accepts), so a
namespaced function is offered as `<namespace>__<name>`, and its calls are split again.

Web search (`web_search`, `web_search_preview`...) is a tool OpenAI runs itself. Codex
CLI offers it with every request; offered, not demanded, it is left out for other
providers, whose models then answer without searching. A `tool_choice` demanding it, and
every other tool OpenAI runs (file search, code interpreter, computer use, MCP, shell,
image generation) or only its models are trained for (custom grammar tools), is a 400.
"""
from __future__ import annotations

from ...errors import InvalidRequest

NAMESPACE_JOIN = "__"
WEB_SEARCH = ("web_search", "web_search_preview", "web_search_2025_08_26",
              "web_search_preview_2025_03_11")
_MODES = ("auto", "none", "required")


def flat_name(namespace, name: str) -> str:
    """The chat function name of `name` in `namespace` (None: no namespace)."""
    return f"{namespace}{NAMESPACE_JOIN}{name}" if namespace else name


def chat_tools(body: dict) -> tuple[dict, dict]:
    """({"tools", "tool_choice", "parallel_tool_calls"} for chat, the namespaced names:
    chat name → (namespace, name))."""
    tools = body.get("tools")
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array.", param="tools", code="invalid_type")
    out: list = []
    namespaced: dict = {}
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            out.append(_function(tool, where))
        elif kind == "namespace":
            out += _namespace(tool, where, namespaced)
        elif kind in WEB_SEARCH:
            continue
        else:
            raise InvalidRequest(f"'{where}.type' '{kind}' is not supported for this model: "
                                 "only function tools can be sent to it (this tool runs on "
                                 "OpenAI's side).", param=f"{where}.type",
                                 code="unsupported_value")
    fields: dict = {}
    choice = _choice(body.get("tool_choice"))
    if out:
        fields["tools"] = out
        if choice is not None:
            fields["tool_choice"] = choice
        parallel = body.get("parallel_tool_calls")
        if parallel is not None:
            if not isinstance(parallel, bool):
                raise InvalidRequest("'parallel_tool_calls' must be a boolean.",
                                     param="parallel_tool_calls", code="invalid_type")
            fields["parallel_tool_calls"] = parallel
    elif choice not in (None, "auto", "none"):
        raise InvalidRequest("'tool_choice' asks for a tool, but no function tool is given.",
                             param="tool_choice", code="invalid_value")
    return fields, namespaced


def _function(tool: dict, where: str, name: str | None = None) -> dict:
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise InvalidRequest(f"Missing required parameter: '{where}.name'.",
                             param=f"{where}.name", code="missing_required_parameter")
    function: dict = {"name": name or tool["name"]}
    if isinstance(tool.get("description"), str) and tool["description"]:
        function["description"] = tool["description"]
    parameters = tool.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise InvalidRequest(f"'{where}.parameters' must be a JSON Schema object.",
                                 param=f"{where}.parameters", code="invalid_type")
        function["parameters"] = parameters
    if tool.get("strict") is True:
        function["strict"] = True
    return {"type": "function", "function": function}


def _namespace(tool: dict, where: str, namespaced: dict) -> list:
    namespace, members = tool.get("name"), tool.get("tools")
    if not isinstance(namespace, str) or not namespace:
        raise InvalidRequest(f"Missing required parameter: '{where}.name'.",
                             param=f"{where}.name", code="missing_required_parameter")
    if not isinstance(members, list):
        raise InvalidRequest(f"'{where}.tools' must be an array.", param=f"{where}.tools",
                             code="invalid_type")
    out = []
    for j, member in enumerate(members):
        here = f"{where}.tools[{j}]"
        if not isinstance(member, dict) or member.get("type") != "function":
            raise InvalidRequest(f"'{here}.type': only function tools can be sent to this "
                                 "model.", param=f"{here}.type", code="unsupported_value")
        function = _function(member, here, flat_name(namespace, str(member.get("name"))))
        namespaced[function["function"]["name"]] = (namespace, member["name"])
        out.append(function)
    return out


def _choice(choice):
    if choice is None or choice in _MODES:
        return choice
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    if kind in _MODES:
        return kind
    raise InvalidRequest("'tool_choice' must be 'auto', 'none', 'required' or "
                         '{"type": "function", "name": ...} for this model.',
                         param="tool_choice", code="unsupported_value")
