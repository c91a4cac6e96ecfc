"""OpenAI request parameters as Gemini `generationConfig`, `tools` and `toolConfig`.

Fields per https://ai.google.dev/api/generate-content#generationconfig and
https://ai.google.dev/api/caching#Tool. Gemini rejects unknown fields with 400, so a
parameter it has no counterpart for is left out; one whose absence would change the
answer is refused instead.
"""
from __future__ import annotations

import re

from ...errors import InvalidRequest
from ..openai_input import (named_function, read_array, read_response_format, read_stop,
                            read_tool_choice)

# OpenAI name → (Gemini generationConfig name, whether the value must be an integer).
RENAMES = {
    "temperature": ("temperature", False),
    "top_p": ("topP", False),
    "presence_penalty": ("presencePenalty", False),
    "frequency_penalty": ("frequencyPenalty", False),
    "seed": ("seed", True),
    "n": ("candidateCount", True),
    "max_completion_tokens": ("maxOutputTokens", True),
    "max_tokens": ("maxOutputTokens", True),
    "top_k": ("topK", True),  # not OpenAI's, but sent by clients that know Gemini has it
}

# reasoning_effort → thinkingConfig (https://ai.google.dev/gemini-api/docs/thinking).
# Gemini 3 takes a level by name: Flash models all four, the others only low and high.
# Gemini 2.5 takes a token budget, with the figures Google's own OpenAI-compatible
# endpoint uses (low, medium, high: 1K, 8K, 24K; none: 0, thinking off), except that 2.5
# Pro cannot switch thinking off and gets its smallest budget, 128.
EFFORTS = ("none", "minimal", "low", "medium", "high")
_BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}
_PRO_SMALLEST_BUDGET = 128
_TWO_LEVELS = {"none": "low", "minimal": "low", "low": "low", "medium": "high", "high": "high"}
_GENERATION = re.compile(r"gemini-(\d+)")

# Parameters Gemini has nothing for and whose loss would change what the client gets.
REFUSED = {
    "logit_bias": "Gemini has no logit bias",
    "audio": "Gemini models here answer with text only",
    "functions": "use 'tools' (the legacy 'functions' is not translated)",
    "function_call": "use 'tool_choice' (the legacy 'function_call' is not translated)",
    "web_search_options": "web search is not available through the Gemini adapter",
}

_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def generation_config(body: dict, model: str = "") -> dict:
    """The generationConfig for an OpenAI request body (empty when nothing applies)."""
    _refuse_unsupported(body)
    config: dict = {}
    for name, (gemini_name, integer) in RENAMES.items():
        value = body.get(name)
        if value is not None and gemini_name not in config:
            config[gemini_name] = _number(value, name, integer)
    stop = body.get("stop")
    # Any empty value (false, 0, {}) counts as no stop here; "" is a stop sequence.
    stop = read_stop(stop) if stop or isinstance(stop, str) else []
    if stop:
        config["stopSequences"] = stop
    config.update(_response_format(body.get("response_format")))
    if body.get("logprobs") is True:
        config["responseLogprobs"] = True
        if body.get("top_logprobs") is not None:
            config["logprobs"] = _number(body["top_logprobs"], "top_logprobs", True)
    effort = body.get("reasoning_effort")
    if effort is not None:
        config["thinkingConfig"] = thinking_config(effort, model)
    return config


def thinking_config(effort, model: str) -> dict:
    if effort not in EFFORTS:
        raise InvalidRequest(f"'reasoning_effort' must be one of {', '.join(EFFORTS)}.",
                             param="reasoning_effort", code="invalid_value")
    match = _GENERATION.search(model)
    if match and int(match.group(1)) >= 3:
        if "flash" in model:
            # Thinking cannot be switched off; the lowest level is the nearest.
            return {"thinkingLevel": "minimal" if effort == "none" else effort}
        return {"thinkingLevel": _TWO_LEVELS[effort]}
    if effort == "none" and "pro" in model:
        return {"thinkingBudget": _PRO_SMALLEST_BUDGET}
    return {"thinkingBudget": _BUDGETS[effort]}


def _refuse_unsupported(body: dict) -> None:
    for name, reason in REFUSED.items():
        if body.get(name) not in (None, {}, []):
            raise InvalidRequest(f"'{name}' is not supported for Gemini models: {reason}.",
                                 param=name, code="unsupported_parameter")
    modalities = body.get("modalities")
    if isinstance(modalities, list) and any(m != "text" for m in modalities):
        raise InvalidRequest("Only the text modality is supported for Gemini models.",
                             param="modalities", code="unsupported_parameter")


def _number(value, name: str, integer: bool):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (integer and not float(value).is_integer()):
        kind = "an integer" if integer else "a number"
        raise InvalidRequest(f"'{name}' must be {kind}.", param=name, code="invalid_type")
    return int(value) if integer else value


def _response_format(fmt) -> dict:
    kind, schema = read_response_format(fmt, "a JSON Schema object")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        # responseJsonSchema takes JSON Schema as is; responseSchema only an OpenAPI subset.
        return {"responseMimeType": "application/json", "responseJsonSchema": schema}
    raise InvalidRequest("'response_format.type' must be text, json_object or json_schema.",
                         param="response_format.type", code="invalid_value")


def function_declarations(tools) -> list:
    """OpenAI function tools as Gemini FunctionDeclarations."""
    declarations = []
    for i, tool in enumerate(read_array(tools, "tools")):
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            raise InvalidRequest(f"Only function tools are supported for Gemini models "
                                 f"('tools[{i}].type').", param=f"tools[{i}].type",
                                 code="unsupported_parameter")
        function = named_function(tool)
        if function is None:
            raise InvalidRequest(f"'tools[{i}].function.name' must be a string.",
                                 param=f"tools[{i}].function.name", code="invalid_type")
        declaration = {"name": function["name"]}
        if isinstance(function.get("description"), str):
            declaration["description"] = function["description"]
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise InvalidRequest(f"'tools[{i}].function.parameters' must be a JSON Schema "
                                 "object.", param=f"tools[{i}].function.parameters",
                                 code="invalid_type")
        if parameters and not _empty_object_schema(parameters):
            declaration["parametersJsonSchema"] = parameters
        declarations.append(declaration)
    return declarations


def _empty_object_schema(schema: dict) -> bool:
    """A schema for "no arguments": Gemini wants the parameters left out then."""
    return schema.get("type") == "object" and not schema.get("properties") and \
        set(schema) <= {"type", "properties", "required", "additionalProperties", "$schema"}


def tool_config(tool_choice, declared: list) -> dict | None:
    """OpenAI tool_choice as Gemini's toolConfig.functionCallingConfig."""
    if tool_choice is None:
        return None
    mode, name = read_tool_choice(tool_choice)
    if name is None:
        if not declared:
            if mode == "required":
                raise InvalidRequest("tool_choice 'required' needs 'tools'.",
                                     param="tool_choice", code="invalid_value")
            return None
        return {"functionCallingConfig": {"mode": _MODES[mode]}}
    if name not in {d["name"] for d in declared}:
        raise InvalidRequest(f"tool_choice names the function '{name}', which is not among "
                             "'tools'.", param="tool_choice", code="invalid_value")
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
