"""Fake Gemini API (v1beta generateContent / streamGenerateContent), strict like the real one.

Format per https://ai.google.dev/api/generate-content: the key in `x-goog-api-key`;
request bodies checked field by field against the documented messages (an unknown name is
Google's 400 INVALID_ARGUMENT "Invalid JSON payload received. Unknown name ..."), roles only
`user`/`model`, one data field per part, function responses matching the calls of the turn
before, and thought signatures required back on the function calls of the current turn
(as Gemini 3 does). Errors use Google's envelope {"error": {code, message, status, details}}:
a bad key is 400 with an ErrorInfo reason API_KEY_INVALID. A `?key=` in the URL is refused
outright so that a key leaking into URLs fails the tests.

`models/{model}:batchEmbedContents` (https://ai.google.dev/api/embeddings) takes one
EmbedContentRequest per text, each naming the URL's model, and answers one
`{"values": [...]}` per request (3072 values, or `outputDimensionality`);
`models/{model}:embedContent` takes one such request (its `model` optional) and answers
`{"embedding": {"values": [...]}}`.

`models/{model}:countTokens` (https://ai.google.dev/api/tokens) takes `contents` or a
whole `generateContentRequest`, which must name its model, and answers `totalTokens`.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import secrets

from fake_upstream import Call, FakeUpstream, Reply, Stream

STRING, NUMBER, INT, BOOL, BYTES, STRUCT, ANY = ("TYPE_STRING", "TYPE_FLOAT", "TYPE_INT32",
                                                 "TYPE_BOOL", "TYPE_BYTES", "STRUCT", "ANY")

# Message name → {JSON field name → type}; [x] is repeated, ("enum", names), ("map", type).
SCHEMA = {
    "GenerateContentRequest": {
        "model": STRING, "contents": ["Content"], "tools": ["Tool"], "toolConfig": "ToolConfig",
        "safetySettings": ["SafetySetting"], "systemInstruction": "Content",
        "generationConfig": "GenerationConfig", "cachedContent": STRING},
    "Content": {"parts": ["Part"], "role": STRING},
    "Part": {"text": STRING, "inlineData": "Blob", "functionCall": "FunctionCall",
             "functionResponse": "FunctionResponse", "fileData": "FileData",
             "executableCode": STRUCT, "codeExecutionResult": STRUCT, "thought": BOOL,
             "thoughtSignature": BYTES, "videoMetadata": STRUCT, "partMetadata": STRUCT},
    "Blob": {"mimeType": STRING, "data": BYTES},
    "FileData": {"mimeType": STRING, "fileUri": STRING},
    "FunctionCall": {"id": STRING, "name": STRING, "args": STRUCT},
    "FunctionResponse": {"id": STRING, "name": STRING, "response": STRUCT,
                         "willContinue": BOOL, "parts": [STRUCT],
                         "scheduling": ("enum", {"SCHEDULING_UNSPECIFIED", "SILENT",
                                                 "WHEN_IDLE", "INTERRUPT"})},
    "Tool": {"functionDeclarations": ["FunctionDeclaration"], "googleSearchRetrieval": STRUCT,
             "codeExecution": STRUCT, "googleSearch": STRUCT, "computerUse": STRUCT,
             "urlContext": STRUCT, "fileSearch": STRUCT, "googleMaps": STRUCT},
    "FunctionDeclaration": {"name": STRING, "description": STRING, "parameters": "Schema",
                            "parametersJsonSchema": ANY, "response": "Schema",
                            "responseJsonSchema": ANY,
                            "behavior": ("enum", {"UNSPECIFIED", "BLOCKING", "NON_BLOCKING"})},
    "Schema": {"type": ("enum", {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN",
                                 "ARRAY", "OBJECT", "NULL"}),
               "format": STRING, "title": STRING, "description": STRING, "nullable": BOOL,
               "enum": [STRING], "maxItems": INT, "minItems": INT,
               "properties": ("map", "Schema"), "required": [STRING], "minProperties": INT,
               "maxProperties": INT, "minLength": INT, "maxLength": INT, "pattern": STRING,
               "example": ANY, "anyOf": ["Schema"], "propertyOrdering": [STRING],
               "default": ANY, "items": "Schema", "minimum": NUMBER, "maximum": NUMBER},
    "ToolConfig": {"functionCallingConfig": "FunctionCallingConfig", "retrievalConfig": STRUCT},
    "FunctionCallingConfig": {
        "mode": ("enum", {"MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"}),
        "allowedFunctionNames": [STRING]},
    "SafetySetting": {"category": STRING, "threshold": STRING},
    "GenerationConfig": {
        "stopSequences": [STRING], "responseMimeType": STRING, "responseSchema": "Schema",
        "responseJsonSchema": ANY, "responseModalities": [STRING], "candidateCount": INT,
        "maxOutputTokens": INT, "temperature": NUMBER, "topP": NUMBER, "topK": INT,
        "seed": INT, "presencePenalty": NUMBER, "frequencyPenalty": NUMBER,
        "responseLogprobs": BOOL, "logprobs": INT, "enableEnhancedCivicAnswers": BOOL,
        "speechConfig": STRUCT, "thinkingConfig": "ThinkingConfig", "imageConfig": STRUCT,
        "mediaResolution": STRING},
    "ThinkingConfig": {"includeThoughts": BOOL, "thinkingBudget": INT, "thinkingLevel": STRING},
}
DATA_FIELDS = ("text", "inlineData", "functionCall", "functionResponse", "fileData",
               "executableCode", "codeExecutionResult")
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


def google_error(code: int, status: str, message: str, details=(), headers=None) -> Reply:
    return Reply(code, {"error": {"code": code, "message": message, "status": status,
                                  "details": list(details)}}, headers or {})


def invalid(message: str, field: str | None = None) -> Reply:
    details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}]}] if field else []
    return google_error(400, "INVALID_ARGUMENT", message, details)


def bad_key() -> Reply:
    message = "API key not valid. Please pass a valid API key."
    return google_error(400, "INVALID_ARGUMENT", message, [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com",
         "metadata": {"service": "generativelanguage.googleapis.com"}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
         "message": message}])


def quota_exceeded(retry_delay: str = "13s") -> Reply:
    return google_error(429, "RESOURCE_EXHAUSTED",
                        "You exceeded your current quota, please check your plan and billing "
                        "details.", [
                            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                             "violations": [{"quotaMetric": "generativelanguage.googleapis.com/"
                                                            "generate_content_free_tier_requests",
                                             "quotaId": "GenerateRequestsPerMinutePerProject"
                                                        "PerModel-FreeTier"}]},
                            {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                             "retryDelay": retry_delay}])


def sse_event(payload) -> bytes:
    """One event as Google frames them: `data: <json>` and a CRLF blank line."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return b"data: " + data + b"\r\n\r\n"


def candidate(parts: list, finish: str | None = "STOP", index: int = 0) -> dict:
    """One answer candidate: its `parts`, its index and, unless None, why it finished."""
    out = {"content": {"parts": parts, "role": "model"}, "index": index}
    if finish:
        out["finishReason"] = finish
    return out


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


class RequestChecker:
    """The first problem the real API would report for a GenerateContentRequest, or None."""

    def check(self, body) -> Reply | None:
        if not isinstance(body, dict):
            return invalid("Invalid JSON payload received. Expected an object.")
        return self._message("GenerateContentRequest", body, "") or self._semantics(body)

    def _message(self, name: str, value, path: str) -> Reply | None:
        if not isinstance(value, dict):
            return invalid(f"Invalid value at '{path}' (type.googleapis.com/google.ai."
                           f"generativelanguage.v1beta.{name}), {json.dumps(value)}", path)
        fields = SCHEMA[name]
        for key, item in value.items():
            if key not in fields:
                where = f" at '{path}'" if path else ""
                return invalid(f"Invalid JSON payload received. Unknown name \"{key}\"{where}: "
                               "Cannot find field.", path or None)
            here = f"{path}.{_snake(key)}" if path else _snake(key)
            problem = self._value(fields[key], item, here)
            if problem:
                return problem
        return None

    def _value(self, kind, value, path: str) -> Reply | None:
        if isinstance(kind, list):
            if not isinstance(value, list):
                return invalid(f"Invalid value at '{path}', {json.dumps(value)}", path)
            for i, item in enumerate(value):
                problem = self._value(kind[0], item, f"{path}[{i}]")
                if problem:
                    return problem
            return None
        if isinstance(kind, tuple) and kind[0] == "map":
            if not isinstance(value, dict):
                return invalid(f"Invalid value at '{path}', {json.dumps(value)}", path)
            for key, item in value.items():
                problem = self._value(kind[1], item, f"{path}[{key}]")
                if problem:
                    return problem
            return None
        if isinstance(kind, tuple):
            ok = value in kind[1]
        elif kind in SCHEMA:
            return self._message(kind, value, path)
        elif kind == STRING:
            ok = isinstance(value, str)
        elif kind == NUMBER:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind == INT:
            ok = isinstance(value, int) and not isinstance(value, bool) or \
                isinstance(value, str) and value.lstrip("-").isdigit()
        elif kind == BOOL:
            ok = isinstance(value, bool)
        elif kind == BYTES:
            ok = isinstance(value, str) and _is_base64(value)
        elif kind == STRUCT:
            ok = isinstance(value, dict)
        else:
            ok = True
        if ok:
            return None
        type_name = kind if isinstance(kind, str) else "TYPE_ENUM"
        return invalid(f"Invalid value at '{path}' ({type_name}), {json.dumps(value)}", path)

    def _semantics(self, body: dict) -> Reply | None:
        contents = body.get("contents") or []
        if not contents:
            return invalid("* GenerateContentRequest.contents: contents is not specified\n")
        for i, content in enumerate(contents):
            if content.get("role") not in ("user", "model"):
                return invalid("Please use a valid role: user, model.")
            problem = self._parts(content.get("parts"), f"contents[{i}]")
            if problem:
                return problem
        system = body.get("systemInstruction")
        if system is not None:
            problem = self._parts(system.get("parts"), "system_instruction")
            if problem:
                return problem
            if any("text" not in p for p in system["parts"]):
                return invalid("* GenerateContentRequest.system_instruction: only text is "
                               "supported in system instructions.\n")
        return (self._tools(body) or self._generation(body.get("generationConfig") or {})
                or self._function_turns(contents))

    @staticmethod
    def _parts(parts, where: str) -> Reply | None:
        if not parts:
            return invalid(f"* GenerateContentRequest.{where}.parts: contents.parts must not "
                           "be empty.\n")
        for j, part in enumerate(parts):
            present = [f for f in DATA_FIELDS if f in part]
            if len(present) != 1:
                return invalid(f"* GenerateContentRequest.{where}.parts[{j}].data: required "
                               "oneof field 'data' must have one initialized field\n")
            blob = part.get("inlineData")
            if blob is not None and not (blob.get("mimeType") and blob.get("data")):
                return invalid(f"* GenerateContentRequest.{where}.parts[{j}].inline_data: "
                               "mime_type and data are required.\n")
            for name in ("functionCall", "functionResponse"):
                if name in part and not part[name].get("name"):
                    return invalid(f"* GenerateContentRequest.{where}.parts[{j}]."
                                   f"{_snake(name)}.name: Name cannot be empty.\n")
        return None

    @staticmethod
    def _tools(body: dict) -> Reply | None:
        names = set()
        for tool in body.get("tools") or []:
            for decl in tool.get("functionDeclarations") or []:
                if not FUNCTION_NAME.match(decl.get("name") or ""):
                    return invalid("* GenerateContentRequest.tools[0].function_declarations: "
                                   "Invalid function name. Must start with a letter or an "
                                   "underscore. Must be alphameric (a-z, A-Z, 0-9), underscores "
                                   "(_), dots (.), colons (:), or dashes (-), with a maximum "
                                   "length of 64.\n")
                if "parameters" in decl and "parametersJsonSchema" in decl:
                    return invalid("parameters and parameters_json_schema are mutually "
                                   "exclusive.")
                schema = decl.get("parametersJsonSchema")
                if schema is not None and not isinstance(schema, dict):
                    return invalid("parameters_json_schema must describe an object.")
                names.add(decl["name"])
        config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
        allowed = config.get("allowedFunctionNames")
        if allowed is not None:
            if config.get("mode") not in ("ANY", "VALIDATED"):
                return invalid("* GenerateContentRequest.tool_config.function_calling_config."
                               "allowed_function_names: allowed_function_names should only be "
                               "set when the mode is ANY.\n")
            if not set(allowed) <= names:
                return invalid("* GenerateContentRequest.tool_config.function_calling_config."
                               "allowed_function_names: function names must be declared.\n")
        return None

    @staticmethod
    def _generation(config: dict) -> Reply | None:
        if "responseSchema" in config and "responseJsonSchema" in config:
            return invalid("response_schema and response_json_schema are mutually exclusive.")
        if ("responseSchema" in config or "responseJsonSchema" in config) and \
                config.get("responseMimeType") not in ("application/json", "text/x.enum"):
            return invalid("* GenerateContentRequest.generation_config.response_mime_type: "
                           "must be application/json when a response schema is set.\n")
        if len(config.get("stopSequences") or []) > 5:
            return invalid("* GenerateContentRequest.generation_config.stop_sequences: at most "
                           "5 stop sequences are allowed.\n")
        if not 1 <= int(config.get("candidateCount", 1)) <= 8:
            return invalid("* GenerateContentRequest.generation_config.candidate_count: must be "
                           "between 1 and 8.\n")
        if not 0 <= config.get("temperature", 1) <= 2:
            return invalid("Unable to submit request because it has a temperature value outside "
                           "the supported range from 0 (inclusive) to 2.0001 (exclusive).")
        if "logprobs" in config and not config.get("responseLogprobs"):
            return invalid("logprobs requires response_logprobs to be true.")
        return None

    @staticmethod
    def _function_turns(contents: list) -> Reply | None:
        for i, content in enumerate(contents):
            calls = [p for p in content["parts"] if "functionCall" in p]
            answers = [p for p in content["parts"] if "functionResponse" in p]
            if answers:
                previous = contents[i - 1] if i else None
                asked = [p["functionCall"]["name"] for p in (previous or {}).get("parts", [])
                         if "functionCall" in p]
                if content["role"] != "user" or not asked:
                    return invalid("Please ensure that function response turn comes "
                                   "immediately after a function call turn.")
                if len(asked) != len(answers):
                    return invalid("Please ensure that the number of function response parts "
                                   "is equal to the number of function call parts of the "
                                   "function call turn.")
                if sorted(asked) != sorted(a["functionResponse"]["name"] for a in answers):
                    return invalid("Please ensure that function response names match the "
                                   "function calls of the function call turn.")
            if calls and content["role"] != "model":
                return invalid("Please ensure that function calls come from the model turn.")
        return None


# The stand-ins Google documents for calls that did not come from Gemini.
DUMMY_SIGNATURES = {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


class FakeGemini(FakeUpstream):
    """Answers generateContent, streamGenerateContent and models.list for `valid_keys`."""

    def __init__(self, valid_keys=(), require_signatures: bool = True):
        self.valid_keys = set(valid_keys)
        self.require_signatures = require_signatures
        self.signatures: set[str] = set()
        self.scripted: list = []
        self.stream_interval = 0.0
        self.words = ["Hello", " from", " Gemini", "."]
        self.checker = RequestChecker()
        super().__init__()

    def key_of(self, call: Call) -> str | None:
        return call.headers.get("x-goog-api-key")

    def script(self, *answers) -> None:
        """Answer the next requests with these GenerateContentResponses (a list: SSE events)."""
        with self.lock:
            self.scripted.extend(answers)

    def handle(self, call: Call):
        if "key" in call.query:
            return invalid("Test rule: the API key must never appear in the URL.")
        if call.path == "/v1beta/models" and call.method == "GET":
            return self._auth(call) or Reply(200, {"models": [
                {"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash",
                 "supportedGenerationMethods": ["generateContent", "countTokens"]}]})
        match = re.fullmatch(r"/v1beta/models/([A-Za-z0-9._-]+):(generateContent|"
                             r"streamGenerateContent|countTokens|embedContent|batchEmbedContents)", call.path)
        if not match:
            return google_error(404, "NOT_FOUND", f"The requested URL {call.path} was not "
                                                  "found on this server.")
        if call.method != "POST":
            return google_error(405, "METHOD_NOT_ALLOWED", "Method not allowed.")
        if match.group(2) == "batchEmbedContents":
            return self._auth(call) or self._embed(call, match.group(1))
        if match.group(2) == "embedContent":
            return self._auth(call) or self._embed_one(call, match.group(1))
        if match.group(2) == "countTokens":
            return self._auth(call) or self._count(call, match.group(1))
        streaming = match.group(2) == "streamGenerateContent"
        return (self._auth(call) or self.checker.check(call.body)
                or self._signatures(call.body) or self._answer(call, streaming))

    def _count(self, call: Call, model: str):
        body = call.body
        if not isinstance(body, dict) or set(body) - {"contents", "generateContentRequest"}:
            return invalid("Invalid JSON payload received. Unknown name in CountTokensRequest.")
        request = body.get("generateContentRequest")
        if request is not None:
            if not isinstance(request, dict) or request.get("model") != f"models/{model}":
                return invalid("* CountTokensRequest.generate_content_request.model: "
                               "unexpected model name format\n")
            problem = self.checker.check(request)
            if problem:
                return problem
            counted = request
        else:
            problem = self.checker.check({"contents": body.get("contents")})
            if problem:
                return problem
            counted = {"contents": body["contents"]}
        # A stand-in for Gemini's tokenizer: one token per four characters.
        total = max(1, len(json.dumps(counted)) // 4)
        return Reply(200, {"totalTokens": total,
                           "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]})

    def _embed_one(self, call: Call, model: str):
        """embedContent: one EmbedContentRequest (its `model` optional), one embedding."""
        body = call.body
        if not isinstance(body, dict):
            return invalid("Invalid JSON payload received. Expected an object.")
        problem, values = self._vector(body, model, "")
        return problem or Reply(200, {"embedding": {"values": values}})

    def _vector(self, one, model: str, where: str, model_required: bool = False):
        """(problem, values) for one EmbedContentRequest."""
        if not isinstance(one, dict) or set(one) - {"model", "content", "taskType", "title",
                                                    "outputDimensionality"}:
            return invalid(f"Invalid JSON payload received. Unknown name at '{where}': Cannot "
                           "find field."), None
        if (model_required or "model" in one) and one.get("model") != f"models/{model}":
            return invalid(f"* BatchEmbedContentsRequest.model: Model names should match "
                           f"in {where}.\n"), None
        parts = (one.get("content") or {}).get("parts")
        if not parts or not all(isinstance(p.get("text"), str) for p in parts):
            return invalid(f"* EmbedContentRequest.{where}content.parts: only text parts are "
                           "embedded.\n"), None
        size = one.get("outputDimensionality", 3072)
        if not isinstance(size, int) or not 1 <= size <= 3072:
            return invalid(f"* EmbedContentRequest.{where}output_dimensionality: must be "
                           "between 1 and 3072.\n"), None
        text = "".join(p["text"] for p in parts)
        seed = sum(text.encode()) % 89
        return None, [((seed + k) % 8) / 8 for k in range(size)]

    def _embed(self, call: Call, model: str):
        body = call.body
        if not isinstance(body, dict) or set(body) != {"requests"} or \
                not isinstance(body["requests"], list):
            return invalid("Invalid JSON payload received. Unknown name in "
                           "BatchEmbedContentsRequest.")
        out = []
        for i, one in enumerate(body["requests"]):
            problem, values = self._vector(one, model, f"requests[{i}]", model_required=True)
            if problem:
                return problem
            out.append({"values": values})
        return Reply(200, {"embeddings": out})

    def _auth(self, call: Call):
        if not call.key:
            return google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered "
                                "callers (callers without established identity). Please use "
                                "API Key or other form of API consumer identity to call this "
                                "API.")
        return None if call.key in self.valid_keys else bad_key()

    def _signatures(self, body: dict):
        """Gemini 3: the function calls since the last user text must keep their signatures."""
        if not self.require_signatures:
            return None
        contents = body["contents"]
        start = max((i for i, c in enumerate(contents) if c["role"] == "user"
                     and any("text" in p for p in c["parts"])), default=0)
        for content in contents[start:]:
            calls = [p for p in content["parts"] if "functionCall" in p]
            signature = calls[0].get("thoughtSignature") if calls else None
            # bytes fields come in standard or URL-safe base64 (the SDKs send the latter).
            standard = signature.replace("-", "+").replace("_", "/") \
                if isinstance(signature, str) else None
            if calls and signature not in DUMMY_SIGNATURES and standard not in self.signatures:
                return invalid("Function call is missing a thought_signature in functionCall "
                               "parts. This is required for tools to work correctly, and "
                               "missing thought_signature may lead to degraded model "
                               "performance.")
        return None

    # -- answers --------------------------------------------------------------------------

    def _answer(self, call: Call, streaming: bool):
        with self.lock:
            scripted = self.scripted.pop(0) if self.scripted else None
        if scripted is not None:
            if isinstance(scripted, (Reply, Stream)):
                return scripted
            events = scripted if isinstance(scripted, list) else [scripted]
            if streaming:
                return Stream([sse_event(e) for e in events], interval=self.stream_interval)
            return Reply(200, events[0])
        body = call.body
        config = body.get("generationConfig") or {}
        last = body["contents"][-1]["parts"]
        results = [p["functionResponse"] for p in last if "functionResponse" in p]
        calls = [] if results else self._calls_for(body)
        if results:
            pieces = ["The tool said: ", json.dumps(results[0]["response"], sort_keys=True)]
        elif config.get("responseMimeType") == "application/json":
            pieces = ['{"answer": ', '42}']
        else:
            pieces = list(self.words)
        usage = {"promptTokenCount": 7, "candidatesTokenCount": 4, "totalTokenCount": 11}
        n = int(config.get("candidateCount", 1))
        meta = {"modelVersion": "gemini-2.5-flash", "responseId": secrets.token_hex(8)}
        if not streaming:
            candidates = [candidate([{"text": "".join(pieces)}] if not calls else calls, "STOP", i)
                          for i in range(n)]
            return Reply(200, {"candidates": candidates, "usageMetadata": usage, **meta})
        events = []
        partial = {"promptTokenCount": 7, "totalTokenCount": 7}
        if calls:
            events.append({"candidates": [candidate(calls, "STOP", i) for i in range(n)],
                           "usageMetadata": usage, **meta})
        else:
            for k, piece in enumerate(pieces):
                final = k == len(pieces) - 1
                events.append({"candidates": [candidate([{"text": piece}],
                                                        "STOP" if final else None, i)
                                              for i in range(n)],
                               "usageMetadata": usage if final else partial, **meta})
        return Stream([sse_event(e) for e in events], interval=self.stream_interval)

    def _calls_for(self, body: dict) -> list:
        """Call a declared function when tools are on and the user just wrote text."""
        declared = [d["name"] for t in body.get("tools") or []
                    for d in t.get("functionDeclarations") or []]
        config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
        if not declared or config.get("mode") == "NONE":
            return []
        names = config.get("allowedFunctionNames") or declared
        text = " ".join(p.get("text", "") for p in body["contents"][-1]["parts"])
        chosen = names if "all tools" in text else names[:1]
        signature = base64.b64encode(secrets.token_bytes(24)).decode()
        with self.lock:
            self.signatures.add(signature)
        parts = [{"functionCall": {"name": name, "args": {"city": "Paris"}}} for name in chosen]
        parts[0]["thoughtSignature"] = signature   # only the first call of a step is signed
        return parts
