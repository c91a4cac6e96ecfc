"""A Gemini GenerateContentRequest as an OpenAI Chat Completions body, for one target.

Fields per https://ai.google.dev/api/generate-content#request-body and
https://ai.google.dev/api/caching#Content: `contents` of `user` and `model` turns whose
parts are text, inlineData (images become data-URI image parts, PDFs file parts, WAV and
MP3 input audio), functionCall and functionResponse; `systemInstruction`; function
declarations as tools, `toolConfig`, and the `generationConfig` the target can carry.
Thought summaries and thought signatures of earlier turns are Gemini's own and left out,
as is what only tunes Google's service (`safetySettings`, `mediaResolution`, civic
answers) and, for OpenAI-style targets, which have no such knob, `topK`. A field that would change the answer and cannot be carried (Google's tools,
files, cached content, several candidates, other output modalities) is a 400 naming it,
as is an unknown one, which Gemini itself refuses.
"""
from __future__ import annotations

import json
import numbers
from dataclasses import dataclass

from ...errors import InvalidRequest
from ...providers.openai.adapter import STREAM_USAGE_PROVIDERS
from ..anthropic_messages.limits import max_output_tokens, reasoning_effort
from .schema import json_schema

TOP_LEVEL = frozenset({"model", "contents", "systemInstruction", "tools", "toolConfig",
                       "generationConfig", "safetySettings"})
REFUSED = {"cachedContent": "cached content lives at Google"}
CONFIG_DROPPED = frozenset({"mediaResolution", "enableEnhancedCivicAnswers"})
CONFIG_REFUSED = {
    "speechConfig": "this model answers with text only",
    "imageConfig": "this model answers with text only",
    "responseLogprobs": "log probabilities are not returned for this model",
    "logprobs": "log probabilities are not returned for this model",
    "routingConfig": "model routing is Google's own",
}
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mp3": "mp3",
                  "audio/mpeg": "mp3"}
# thinkingLevel and thinkingBudget in the common none/low/medium/high scale of limits.py.
_LEVELS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}


@dataclass(frozen=True)
class ChatPlan:
    """The OpenAI chat body for one target, and maxOutputTokens sent when it was capped."""
    body: dict
    capped_max_tokens: int | None = None


def chat_body(body: dict, provider: str, model: str, stream: bool = False) -> ChatPlan:
    """The OpenAI chat body for the Gemini request `body`, for `provider`'s `model`."""
    for name in body:
        if name in REFUSED:
            raise InvalidRequest(f"{name}: not supported for this model: {REFUSED[name]}.",
                                 param=name)
        if name not in TOP_LEVEL:
            raise InvalidRequest(f"Invalid JSON payload received. Unknown name \"{name}\": "
                                 "Cannot find field.", param=name)
    tools = _tools(body.get("tools"))
    out: dict = {"model": model, "messages": chat_messages(body)}
    if tools:
        out["tools"] = tools
    out.update(_tool_choice(body.get("toolConfig"), tools))
    capped = _generation(body.get("generationConfig"), provider, model, out)
    if stream:
        out["stream"] = True
        if provider in STREAM_USAGE_PROVIDERS:
            out["stream_options"] = {"include_usage": True}
    return ChatPlan(out, capped)


# -- contents -------------------------------------------------------------------------------

def chat_messages(body: dict) -> list:
    """The OpenAI messages for the system instruction and contents."""
    out: list = []
    system = body.get("systemInstruction")
    if system is not None:
        texts = [p["text"] for p in _parts(system, "systemInstruction") if "text" in p]
        if len(texts) != len(_parts(system, "systemInstruction")):
            raise InvalidRequest("systemInstruction: only text parts are supported in system "
                                 "instructions.", param="systemInstruction")
        if any(texts):
            out.append({"role": "system", "content": "\n\n".join(t for t in texts if t)})
    calls = _CallIds()
    for i, content in enumerate(body["contents"]):
        where = f"contents[{i}]"
        role = content.get("role") or "user"
        parts = _parts(content, where)
        if role == "user":
            out += _user(parts, where, calls)
        elif role == "model":
            out += _model(parts, where, calls, i)
        else:
            raise InvalidRequest(f"{where}.role: Please use a valid role: user, model.",
                                 param=f"{where}.role")
    if not any(m["role"] != "system" for m in out):
        raise InvalidRequest("contents: the conversation has no content to send.",
                             param="contents")
    return out


def _parts(content, where: str) -> list:
    if not isinstance(content, dict):
        raise InvalidRequest(f"{where}: must be a Content object.", param=where)
    parts = content.get("parts")
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise InvalidRequest(f"{where}.parts: must be an array of Part objects.",
                             param=f"{where}.parts")
    # Thought summaries are the model's own reasoning of an earlier turn, not conversation.
    return [p for p in parts if p.get("thought") is not True]


class _CallIds:
    """OpenAI tool call ids for Gemini's function calls: the call's own `id` where it has
    one, else one made up; a functionResponse finds its call by id, else by name."""

    def __init__(self):
        self.open: list[tuple[str, str]] = []  # (id, name) of calls not yet answered

    def called(self, call: dict, turn: int, k: int) -> str:
        call_id = call.get("id") if isinstance(call.get("id"), str) and call["id"] \
            else f"call_{turn}_{k}"
        self.open.append((call_id, call["name"]))
        return call_id

    def answered(self, response: dict, where: str) -> str:
        given = response.get("id")
        # By id first; a response whose id names no call (or that has none) by name.
        for matches in (lambda call_id, name: call_id == given,
                        lambda call_id, name: name == response["name"]):
            for i, (call_id, name) in enumerate(self.open):
                if matches(call_id, name):
                    del self.open[i]
                    return call_id
        raise InvalidRequest(f"{where}.functionResponse: Please ensure that function response "
                             "parts answer the function calls of the turn before.",
                             param=f"{where}.functionResponse")


def _named(part: dict, field: str, where: str) -> dict:
    value = part[field]
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or \
            not value["name"]:
        raise InvalidRequest(f"{where}.{field}.name: Name cannot be empty.",
                             param=f"{where}.{field}.name")
    return value


def _user(parts: list, where: str, calls: _CallIds) -> list:
    tools, content = [], []
    for j, part in enumerate(parts):
        here = f"{where}.parts[{j}]"
        if "functionResponse" in part:
            response = _named(part, "functionResponse", here)
            result = response.get("response")
            if result is not None and not isinstance(result, dict):
                raise InvalidRequest(f"{here}.functionResponse.response: must be an object.",
                                     param=f"{here}.functionResponse.response")
            tools.append({"role": "tool", "tool_call_id": calls.answered(response, here),
                          "content": json.dumps(result or {}, ensure_ascii=False)})
        else:
            content.append(_content_part(part, here))
    content = [p for p in content if p is not None]
    if not content:
        return tools
    if all(p["type"] == "text" for p in content):
        return tools + [{"role": "user", "content": "\n\n".join(p["text"] for p in content)}]
    return tools + [{"role": "user", "content": content}]


def _content_part(part: dict, where: str) -> dict | None:
    if "text" in part:
        if not isinstance(part["text"], str):
            raise InvalidRequest(f"{where}.text: must be a string.", param=f"{where}.text")
        return {"type": "text", "text": part["text"]} if part["text"] else None
    if "inlineData" in part:
        return _inline(part["inlineData"], f"{where}.inlineData")
    if "fileData" in part:
        raise InvalidRequest(f"{where}.fileData: not supported for this model: files uploaded "
                             "to Google cannot be read by it; send the data inline.",
                             param=f"{where}.fileData")
    if "functionCall" in part:
        raise InvalidRequest(f"{where}.functionCall: Please ensure that function calls come "
                             "from the model turn.", param=f"{where}.functionCall")
    kind = next(iter(part), "data")
    raise InvalidRequest(f"{where}.{kind}: not supported for this model.",
                         param=f"{where}.{kind}")


def _inline(blob, where: str) -> dict:
    mime = blob.get("mimeType") if isinstance(blob, dict) else None
    data = blob.get("data") if isinstance(blob, dict) else None
    if not isinstance(mime, str) or not mime or not isinstance(data, str) or not data:
        raise InvalidRequest(f"{where}: mimeType and data are required.", param=where)
    mime = mime.lower()
    if mime.startswith("image/"):
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    if mime == "application/pdf":
        return {"type": "file", "file": {"filename": "document.pdf",
                                         "file_data": f"data:{mime};base64,{data}"}}
    if mime in _AUDIO_FORMATS:
        return {"type": "input_audio", "input_audio": {"data": data,
                                                       "format": _AUDIO_FORMATS[mime]}}
    raise InvalidRequest(f"{where}.mimeType: '{mime}' data cannot be sent to this model "
                         "(images, PDF, WAV and MP3 can).", param=f"{where}.mimeType")


def _model(parts: list, where: str, calls: _CallIds, turn: int) -> list:
    texts, tool_calls = [], []
    for j, part in enumerate(parts):
        here = f"{where}.parts[{j}]"
        if "functionCall" in part:
            call = _named(part, "functionCall", here)
            args = call.get("args") if call.get("args") is not None else {}
            if not isinstance(args, dict):
                raise InvalidRequest(f"{here}.functionCall.args: must be an object.",
                                     param=f"{here}.functionCall.args")
            tool_calls.append({"id": calls.called(call, turn, j), "type": "function",
                               "function": {"name": call["name"],
                                            "arguments": json.dumps(args, ensure_ascii=False)}})
        elif "text" in part and isinstance(part["text"], str):
            if part["text"]:
                texts.append(part["text"])
        elif set(part) <= {"thoughtSignature"}:
            continue  # a signature on its own: Gemini's, meaningless elsewhere
        else:
            kind = next((k for k in part if k != "thoughtSignature"), "data")
            raise InvalidRequest(f"{here}.{kind}: not supported in a model turn for this "
                                 "model (text and function calls are).", param=f"{here}.{kind}")
    if not texts and not tool_calls:
        return []
    message: dict = {"role": "assistant", "content": "".join(texts) if texts else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return [message]


# -- tools ----------------------------------------------------------------------------------

def _tools(tools) -> list:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise InvalidRequest("tools: must be an array of Tool objects.", param="tools")
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise InvalidRequest(f"tools[{i}]: must be a Tool object.", param=f"tools[{i}]")
        for name, value in tool.items():
            if name != "functionDeclarations":
                raise InvalidRequest(f"tools[{i}].{name}: not supported for this model: only "
                                     "function declarations can be carried (Google runs "
                                     "its own tools itself).", param=f"tools[{i}].{name}")
            if not isinstance(value, list):
                raise InvalidRequest(f"tools[{i}].functionDeclarations: must be an array.",
                                     param=f"tools[{i}].functionDeclarations")
            out += [_function(d, f"tools[{i}].functionDeclarations[{k}]")
                    for k, d in enumerate(value)]
    return out


def _function(declaration, where: str) -> dict:
    if not isinstance(declaration, dict) or not isinstance(declaration.get("name"), str) \
            or not declaration["name"]:
        raise InvalidRequest(f"{where}.name: a function declaration needs a name.",
                             param=f"{where}.name")
    function: dict = {"name": declaration["name"]}
    if isinstance(declaration.get("description"), str):
        function["description"] = declaration["description"]
    if declaration.get("parametersJsonSchema") is not None:
        schema = declaration["parametersJsonSchema"]
        if not isinstance(schema, dict):
            raise InvalidRequest(f"{where}.parametersJsonSchema: must describe an object.",
                                 param=f"{where}.parametersJsonSchema")
    elif declaration.get("parameters") is not None:
        schema = json_schema(declaration["parameters"], f"{where}.parameters")
    else:
        schema = {"type": "object", "properties": {}}
    function["parameters"] = schema
    return {"type": "function", "function": function}


_MODES = {"AUTO": "auto", "VALIDATED": "auto", "MODE_UNSPECIFIED": "auto", "NONE": "none",
          "ANY": "required"}


def _tool_choice(config, tools: list) -> dict:
    if config is None:
        return {}
    calling = config.get("functionCallingConfig") if isinstance(config, dict) else None
    if not isinstance(config, dict) or set(config) - {"functionCallingConfig"}:
        extra = next(iter(set(config) - {"functionCallingConfig"}), None) \
            if isinstance(config, dict) else None
        raise InvalidRequest(f"toolConfig.{extra}: not supported for this model." if extra
                             else "toolConfig: must be an object.",
                             param=f"toolConfig.{extra}" if extra else "toolConfig")
    if calling is None:
        return {}
    mode = calling.get("mode", "AUTO") if isinstance(calling, dict) else None
    if mode not in _MODES:
        raise InvalidRequest("toolConfig.functionCallingConfig.mode: must be AUTO, ANY, NONE "
                             "or VALIDATED.", param="toolConfig.functionCallingConfig.mode")
    allowed = calling.get("allowedFunctionNames")
    names = {t["function"]["name"] for t in tools}
    if allowed is not None and (mode != "ANY" or not isinstance(allowed, list) or not allowed
                                or not set(allowed) <= names):
        raise InvalidRequest("toolConfig.functionCallingConfig.allowedFunctionNames: only with "
                             "mode ANY, naming declared functions.",
                             param="toolConfig.functionCallingConfig.allowedFunctionNames")
    if not tools:
        return {}
    if allowed is None:
        return {"tool_choice": _MODES[mode]}
    if len(set(allowed)) == 1:
        return {"tool_choice": {"type": "function", "function": {"name": allowed[0]}}}
    # Several allowed: only those are offered, and one must be called.
    return {"tools": [t for t in tools if t["function"]["name"] in allowed],
            "tool_choice": "required"}


# -- generationConfig -----------------------------------------------------------------------

_RENAMES = {"temperature": "temperature", "topP": "top_p", "seed": "seed",
            "presencePenalty": "presence_penalty", "frequencyPenalty": "frequency_penalty"}
_GENERATION = frozenset({*_RENAMES, "maxOutputTokens", "stopSequences", "candidateCount",
                         "responseMimeType", "responseSchema", "responseJsonSchema",
                         "responseModalities", "thinkingConfig", "topK"})


def _generation(config, provider: str, model: str, out: dict) -> int | None:
    """Adds what generationConfig says to `out`; the max tokens sent when capped, else None."""
    if config is None:
        return None
    if not isinstance(config, dict):
        raise InvalidRequest("generationConfig: must be an object.", param="generationConfig")
    for name in config:
        here = f"generationConfig.{name}"
        if name in CONFIG_REFUSED:
            raise InvalidRequest(f"{here}: not supported for this model: "
                                 f"{CONFIG_REFUSED[name]}.", param=here)
        if name not in _GENERATION and name not in CONFIG_DROPPED:
            raise InvalidRequest(f"Invalid JSON payload received. Unknown name \"{name}\" at "
                                 "'generation_config': Cannot find field.", param=here)
    for name, chat_name in _RENAMES.items():
        if config.get(name) is not None:
            out[chat_name] = _number(config[name], f"generationConfig.{name}",
                                     integer=name == "seed")
    if config.get("topK") is not None:
        top_k = _number(config["topK"], "generationConfig.topK", integer=True)
        # Anthropic's adapter carries top_k. OpenAI's API has none, and Gemini CLI sends
        # topK with every request: a refinement of the sampling that temperature and topP
        # already shape, it is left out there rather than refused.
        if provider == "anthropic":
            out["top_k"] = top_k
    count = config.get("candidateCount")
    if count is not None and count != 1:
        raise InvalidRequest("generationConfig.candidateCount: only 1 candidate can be asked "
                             "of this model.", param="generationConfig.candidateCount")
    capped = None
    asked = config.get("maxOutputTokens")
    if asked is not None:
        asked = _number(asked, "generationConfig.maxOutputTokens", integer=True)
        if asked < 1:
            raise InvalidRequest("generationConfig.maxOutputTokens: must be at least 1.",
                                 param="generationConfig.maxOutputTokens")
        limit = max_output_tokens(model)
        sent = min(asked, limit) if limit else asked
        capped = sent if sent != asked else None
        # OpenAI's reasoning models take only max_completion_tokens, which every OpenAI
        # model takes; other OpenAI-style servers know max_tokens.
        out["max_completion_tokens" if provider == "openai" else "max_tokens"] = sent
    stop = config.get("stopSequences")
    if stop:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise InvalidRequest("generationConfig.stopSequences: must be an array of strings.",
                                 param="generationConfig.stopSequences")
        out["stop"] = stop
    modalities = config.get("responseModalities")
    if modalities is not None and (not isinstance(modalities, list) or
                                   any(str(m).upper() != "TEXT" for m in modalities)):
        raise InvalidRequest("generationConfig.responseModalities: this model answers with "
                             "TEXT only.", param="generationConfig.responseModalities")
    response_format = _response_format(config)
    if response_format:
        out["response_format"] = response_format
    effort = reasoning_effort(provider, model, _thinking(config.get("thinkingConfig")))
    if effort:
        out["reasoning_effort"] = effort
    return capped


def _number(value, where: str, integer: bool = False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or \
            (integer and not float(value).is_integer()):
        raise InvalidRequest(f"{where}: must be {'an integer' if integer else 'a number'}.",
                             param=where)
    return int(value) if integer else value


def _response_format(config: dict) -> dict | None:
    mime = config.get("responseMimeType")
    schema = None
    if config.get("responseJsonSchema") is not None:
        schema = config["responseJsonSchema"]
        if not isinstance(schema, dict):
            raise InvalidRequest("generationConfig.responseJsonSchema: must be a JSON Schema "
                                 "object.", param="generationConfig.responseJsonSchema")
    elif config.get("responseSchema") is not None:
        schema = json_schema(config["responseSchema"], "generationConfig.responseSchema")
    if mime in (None, "text/plain") and schema is None:
        return None
    if mime != "application/json":
        raise InvalidRequest("generationConfig.responseMimeType: this model takes text/plain "
                             "or application/json (with a schema or without).",
                             param="generationConfig.responseMimeType")
    if schema is None:
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}


def _thinking(config) -> str | None:
    """none/low/medium/high for thinkingConfig, or None when it leaves that to the model."""
    if config is None:
        return None
    if not isinstance(config, dict) or set(config) - {"includeThoughts", "thinkingBudget",
                                                       "thinkingLevel"}:
        raise InvalidRequest("generationConfig.thinkingConfig: takes includeThoughts, "
                             "thinkingBudget and thinkingLevel.",
                             param="generationConfig.thinkingConfig")
    level = config.get("thinkingLevel")
    if level is not None:
        if not isinstance(level, str) or level.lower() not in _LEVELS:
            raise InvalidRequest("generationConfig.thinkingConfig.thinkingLevel: must be "
                                 "minimal, low, medium or high.",
                                 param="generationConfig.thinkingConfig.thinkingLevel")
        return _LEVELS[level.lower()]
    budget = config.get("thinkingBudget")
    if budget is None or budget == -1:  # -1: dynamic, the model decides
        return None
    budget = _number(budget, "generationConfig.thinkingConfig.thinkingBudget", integer=True)
    if budget == 0:
        return "none"
    # The 2.5 budgets Google's own OpenAI-compatible endpoint gives low, medium and high.
    return "low" if budget <= 1024 else "medium" if budget <= 8192 else "high"
