"""Fake Anthropic Messages API, strict like the real one.

Request rules and answer formats follow https://docs.anthropic.com/en/api/messages,
/en/api/messages-streaming, /en/api/errors and the tool-use guide: the `x-api-key` and
`anthropic-version` headers are required; `model`, `max_tokens` and `messages` are required;
unknown fields anywhere are rejected; roles are `user` and `assistant`; text blocks must hold
non-whitespace text; a final assistant turn must not end in whitespace; every `tool_use`
needs its `tool_result` at the start of the next user turn. Errors use Anthropic's envelope
{"type": "error", "error": {"type", "message"}, "request_id"}.

One rule is stricter than the documentation: the API merges consecutive same-role turns
itself, which would break the tool_result-first rule, so the proxy must send alternating
turns and the fake rejects two turns of the same role in a row.

`POST /v1/messages/count_tokens` (https://docs.anthropic.com/en/api/messages-count-tokens)
takes the same body less `max_tokens`, `stream` and the sampling fields, and answers
`{"input_tokens": n}`. A `system` turn inside `messages` is accepted only with the
`mid-conversation-system-2026-04-07` beta, which Claude Code sends.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import uuid

from fake_upstream import Call, FakeUpstream, Reply, Stream, sse

TOP_LEVEL = {"model", "messages", "max_tokens", "system", "metadata", "stop_sequences",
             "stream", "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking",
             "service_tier", "output_config", "container", "mcp_servers", "cache_control",
             "context_management", "inference_geo", "speed", "diagnostics"}
REQUIRED = ("model", "max_tokens", "messages")
COUNT_TOP_LEVEL = {"model", "messages", "system", "tools", "tool_choice", "thinking",
                   "output_config", "cache_control", "context_management", "mcp_servers",
                   "speed"}
MID_CONVERSATION_SYSTEM = "mid-conversation-system-2026-04-07"
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
BLOCK_FIELDS = {
    "text": {"type", "text", "cache_control", "citations"},
    "image": {"type", "source", "cache_control"},
    "document": {"type", "source", "cache_control", "title", "context", "citations"},
    "tool_use": {"type", "id", "name", "input", "cache_control"},
    "tool_result": {"type", "tool_use_id", "content", "is_error", "cache_control"},
}
USER_BLOCKS = {"text", "image", "document", "tool_result"}
ASSISTANT_BLOCKS = {"text", "tool_use"}
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")


class Invalid(Exception):
    """A request the real API answers with 400 invalid_request_error."""


def error(status: int, type_: str, message: str, headers=None) -> Reply:
    return Reply(status, {"type": "error", "error": {"type": type_, "message": message},
                          "request_id": "req_" + uuid.uuid4().hex[:24]}, headers or {})


def message_body(content: list, *, stop_reason="end_turn", model="claude-test",
                 usage=None) -> dict:
    """A non-streamed Anthropic `message` object."""
    return {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage or {"input_tokens": 21, "output_tokens": 5,
                               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


def stream_events(content: list, *, stop_reason="end_turn", model="claude-test",
                  usage=None, pieces: int = 3) -> list:
    """The documented SSE event sequence for a message with `content` blocks."""
    usage = usage or {"input_tokens": 21, "output_tokens": 5,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    start = message_body([], stop_reason=None, model=model,
                         usage={**usage, "output_tokens": 1})
    events = [sse({"type": "message_start", "message": start}, "message_start")]
    for index, block in enumerate(content):
        if block["type"] == "text":
            head, chunks = {"type": "text", "text": ""}, _split(block["text"], pieces)
            deltas = [{"type": "text_delta", "text": c} for c in chunks]
        else:
            head = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            chunks = _split(json.dumps(block["input"]), pieces)
            deltas = [{"type": "input_json_delta", "partial_json": ""}] + \
                [{"type": "input_json_delta", "partial_json": c} for c in chunks]
        events.append(sse({"type": "content_block_start", "index": index,
                           "content_block": head}, "content_block_start"))
        if index == 0:
            events.append(sse({"type": "ping"}, "ping"))
        events += [sse({"type": "content_block_delta", "index": index, "delta": d},
                       "content_block_delta") for d in deltas]
        events.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    events.append(sse({"type": "message_delta",
                       "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                       "usage": {"output_tokens": usage["output_tokens"]}}, "message_delta"))
    events.append(sse({"type": "message_stop"}, "message_stop"))
    return events


def _split(text: str, pieces: int) -> list:
    size = max(1, -(-len(text) // pieces))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class FakeAnthropic(FakeUpstream):
    """Answers /v1/messages and /v1/models for the keys in `valid_keys`."""

    def __init__(self, valid_keys=()):
        self.valid_keys = set(valid_keys)
        self.text = "Hello from Claude."
        super().__init__()

    def key_of(self, call: Call) -> str | None:
        return call.headers.get("x-api-key")

    @property
    def bodies(self) -> list:
        return [c.body for c in self.calls if c.path == "/v1/messages"]

    def handle(self, call: Call):
        if call.path == "/v1/models" and call.method == "GET":
            return self._auth(call) or Reply(200, {"data": [
                {"type": "model", "id": "claude-test", "display_name": "Claude Test",
                 "created_at": "2025-01-01T00:00:00Z"}], "has_more": False,
                "first_id": "claude-test", "last_id": "claude-test"})
        if call.path not in ("/v1/messages", "/v1/messages/count_tokens") or \
                call.method != "POST":
            return error(404, "not_found_error", "Not found")
        denied = self._auth(call)
        if denied:
            return denied
        if "anthropic-version" not in call.headers:
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        if not call.headers.get("content-type", "").startswith("application/json"):
            return error(400, "invalid_request_error", "Content-Type must be application/json")
        betas = {b.strip() for b in call.headers.get("anthropic-beta", "").split(",")}
        counting = call.path.endswith("/count_tokens")
        try:
            validate(call.body, count=counting,
                     system_turns=MID_CONVERSATION_SYSTEM in betas)
        except Invalid as exc:
            return error(400, "invalid_request_error", str(exc))
        if counting:
            return Reply(200, {"input_tokens": count_tokens(call.body)},
                         {"request-id": "req_fake"})
        return self._answer(call.body)

    def _auth(self, call: Call):
        if not call.key:
            return error(401, "authentication_error", "x-api-key header is required")
        if call.key not in self.valid_keys:
            return error(401, "authentication_error", "invalid x-api-key")
        return None

    def _answer(self, body: dict):
        content, stop = self.reply_content(body)
        words = sum(len(b.get("text", "").split()) for b in content) or 3
        usage = {"input_tokens": 21, "output_tokens": words,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4}
        if body.get("stream"):
            return Stream(stream_events(content, stop_reason=stop, model=body["model"],
                                        usage=usage), headers={"request-id": "req_fake"})
        return Reply(200, message_body(content, stop_reason=stop, model=body["model"],
                                       usage=usage), {"request-id": "req_fake"})

    def reply_content(self, body: dict) -> tuple[list, str]:
        """A tool call when tools are offered to a fresh question, else text."""
        last = body["messages"][-1]
        results = [b for b in _blocks(last) if b["type"] == "tool_result"]
        choice = body.get("tool_choice") or {"type": "auto"}
        if results:
            said = "; ".join(_result_text(r) for r in results)
            return [{"type": "text", "text": f"The tool said: {said}"}], "end_turn"
        if body.get("tools") and last["role"] == "user" and choice["type"] != "none":
            name = choice.get("name") or body["tools"][0]["name"]
            return [{"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20], "name": name,
                     "input": {"city": "Paris", "unit": "celsius"}}], "tool_use"
        return [{"type": "text", "text": self.text}], "end_turn"


def _blocks(message: dict) -> list:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _result_text(result: dict) -> str:
    content = result.get("content", "")
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content)


def count_tokens(body: dict) -> int:
    """A stand-in for Claude's tokenizer: one token per four characters of the body."""
    return max(1, len(json.dumps(body)) // 4)


# -- validation ------------------------------------------------------------------------


def validate(body, count: bool = False, system_turns: bool = False) -> None:
    """Raise Invalid with Anthropic's wording for what the real API rejects."""
    if not isinstance(body, dict):
        raise Invalid("Request body must be a JSON object")
    for name in body:
        if name not in (COUNT_TOP_LEVEL if count else TOP_LEVEL):
            raise Invalid(f"{name}: Extra inputs are not permitted")
    for name in ("model", "messages") if count else REQUIRED:
        if name not in body:
            raise Invalid(f"{name}: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise Invalid("model: Input should be a valid string")
    if not count:
        _int(body["max_tokens"], "max_tokens", 1)
    _number(body, "temperature", 0, 1)
    _number(body, "top_p", 0, 1)
    if "temperature" in body and "top_p" in body:  # every Claude model since Opus 4.1
        raise Invalid("`temperature` and `top_p` cannot both be specified for this model. "
                      "Please use only one.")
    if "top_k" in body:
        _int(body["top_k"], "top_k", 0)
    if "stream" in body and not isinstance(body["stream"], bool):
        raise Invalid("stream: Input should be a valid boolean")
    if "stop_sequences" in body and (not isinstance(body["stop_sequences"], list) or not all(
            isinstance(s, str) for s in body["stop_sequences"])):
        raise Invalid("stop_sequences: Input should be a valid list of strings")
    if any(not s.strip() for s in body.get("stop_sequences", ())):
        raise Invalid("stop_sequences: each stop sequence must contain non-whitespace")
    _metadata(body)
    _system(body)
    tools = _tools(body)
    _tool_choice(body, tools)
    _thinking(body)
    _output_config(body)
    _messages(body["messages"], system_turns)


def _int(value, name: str, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"{name}: Input should be a valid integer")
    if value < minimum:
        raise Invalid(f"{name}: Input should be greater than or equal to {minimum}")


def _number(body: dict, name: str, low: float, high: float) -> None:
    if name not in body:
        return
    value = body[name]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise Invalid(f"{name}: Input should be a valid number")
    if not low <= value <= high:
        raise Invalid(f"{name}: range: {low}..{high}")


def _metadata(body: dict) -> None:
    if "metadata" not in body:
        return
    meta = body["metadata"]
    if not isinstance(meta, dict):
        raise Invalid("metadata: Input should be a valid dictionary")
    for name in meta:
        if name != "user_id":
            raise Invalid(f"metadata.{name}: Extra inputs are not permitted")
    user = meta.get("user_id")
    if user is not None and (not isinstance(user, str) or len(user) > 256):
        raise Invalid("metadata.user_id: String should have at most 256 characters")


def _system(body: dict) -> None:
    if "system" not in body:
        return
    system = body["system"]
    if isinstance(system, str):
        return
    if not isinstance(system, list):
        raise Invalid("system: Input should be a valid string or list")
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise Invalid(f"system.{i}.type: Input should be 'text'")
        _block(block, f"system.{i}")


def _tools(body: dict) -> list:
    tools = body.get("tools", [])
    if not isinstance(tools, list):
        raise Invalid("tools: Input should be a valid list")
    names = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise Invalid(f"tools.{i}: Input should be a valid dictionary")
        for name in tool:
            if name not in {"name", "description", "input_schema", "cache_control", "type",
                            "strict"}:
                raise Invalid(f"tools.{i}.custom.{name}: Extra inputs are not permitted")
        if not isinstance(tool.get("name"), str) or not TOOL_NAME.fullmatch(tool["name"]):
            raise Invalid(f"tools.{i}.custom.name: String should match pattern "
                          "'^[a-zA-Z0-9_-]{1,64}$'")
        if tool["name"] in names:
            raise Invalid("tools: Tool names must be unique.")
        names.add(tool["name"])
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise Invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
        if "description" in tool and not isinstance(tool["description"], str):
            raise Invalid(f"tools.{i}.custom.description: Input should be a valid string")
    return tools


def _tool_choice(body: dict, tools: list) -> None:
    if "tool_choice" not in body:
        return
    choice = body["tool_choice"]
    allowed = {"auto": {"type", "disable_parallel_tool_use"},
               "any": {"type", "disable_parallel_tool_use"},
               "tool": {"type", "name", "disable_parallel_tool_use"},
               "none": {"type"}}
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in allowed:
        raise Invalid("tool_choice: Input tag does not match any of the expected tags: "
                      "'auto', 'any', 'tool', 'none'")
    for name in choice:
        if name not in allowed[kind]:
            raise Invalid(f"tool_choice.{kind}.{name}: Extra inputs are not permitted")
    if kind == "tool" and choice.get("name") not in {t["name"] for t in tools}:
        raise Invalid(f"tool_choice.tool.name: tool '{choice.get('name')}' was not provided "
                      "in tools")
    if "disable_parallel_tool_use" in choice and \
            not isinstance(choice["disable_parallel_tool_use"], bool):
        raise Invalid(f"tool_choice.{kind}.disable_parallel_tool_use: Input should be a valid "
                      "boolean")


def _thinking(body: dict) -> None:
    if "thinking" not in body:
        return
    thinking = body["thinking"]
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "disabled", "adaptive"):
        raise Invalid("thinking: Input tag does not match any of the expected tags: "
                      "'enabled', 'disabled', 'adaptive'")
    if kind == "enabled" and (not isinstance(thinking.get("budget_tokens"), int)
                              or thinking["budget_tokens"] < 1024):
        raise Invalid("thinking.enabled.budget_tokens: Input should be greater than or equal "
                      "to 1024")


def _output_config(body: dict) -> None:
    if "output_config" not in body:
        return
    config = body["output_config"]
    if not isinstance(config, dict) or set(config) - {"format", "effort"}:
        raise Invalid("output_config: Extra inputs are not permitted")
    if config.get("effort") not in (None, "low", "medium", "high", "xhigh", "max"):
        raise Invalid("output_config.effort: Input should be 'low', 'medium', 'high', "
                      "'xhigh' or 'max'")
    fmt = config.get("format")
    if fmt is not None and (not isinstance(fmt, dict) or set(fmt) != {"type", "schema"} or
                            fmt["type"] != "json_schema" or not isinstance(fmt["schema"], dict)):
        raise Invalid("output_config.format: Input should be {type: 'json_schema', schema}")


def _messages(messages, system_turns: bool = False) -> None:
    if not isinstance(messages, list) or not messages:
        raise Invalid("messages: Field required" if messages == [] else
                      "messages: Input should be a valid list")
    previous = None
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise Invalid(f"messages.{i}: Input should be a valid dictionary")
        for name in message:
            if name not in ("role", "content"):
                raise Invalid(f"messages.{i}.{name}: Extra inputs are not permitted")
        role = message.get("role")
        if role == "system" and system_turns:
            _system({"system": message.get("content")})
            continue  # between the turns; the alternation is of user and assistant
        if role not in ("user", "assistant"):
            raise Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise Invalid(f"messages.{i}.content: Field required")
        if previous is not None and previous["role"] == role:
            raise Invalid(f"messages.{i}: roles must alternate between \"user\" and "
                          "\"assistant\"")
        final = i == len(messages) - 1
        _content(message, f"messages.{i}", final)
        if previous is not None:
            _tool_pairing(previous, message, i)
        previous = message
    last = _blocks(messages[-1])
    if messages[-1]["role"] == "assistant" and last:
        text = last[-1].get("text")
        if isinstance(text, str) and text != text.rstrip():
            raise Invalid("messages: final assistant content cannot end with trailing "
                          "whitespace")


def _content(message: dict, where: str, final: bool) -> None:
    content = message["content"]
    role = message["role"]
    if isinstance(content, str):
        if not content.strip() and not (final and role == "assistant"):
            raise Invalid(f"{where}: all messages must have non-empty content except for the "
                          "optional final assistant message")
        return
    if not isinstance(content, list):
        raise Invalid(f"{where}.content: Input should be a valid list")
    if not content and not (final and role == "assistant"):
        raise Invalid(f"{where}: all messages must have non-empty content except for the "
                      "optional final assistant message")
    allowed = USER_BLOCKS if role == "user" else ASSISTANT_BLOCKS
    seen_other = False
    for j, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in allowed:
            raise Invalid(f"{where}.content.{j}.type: Input tag '{kind}' is not valid in a "
                          f"{role} message")
        _block(block, f"{where}.content.{j}")
        if kind == "tool_result" and seen_other:
            raise Invalid(f"{where}.content.{j}: tool_result blocks must come first in the "
                          "user message content, before any other content")
        seen_other = seen_other or kind != "tool_result"


def _block(block: dict, where: str) -> None:
    kind = block["type"]
    for name in block:
        if name not in BLOCK_FIELDS[kind]:
            raise Invalid(f"{where}.{kind}.{name}: Extra inputs are not permitted")
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise Invalid(f"{where}.text.text: Field required")
        if not block["text"].strip():
            raise Invalid("messages: text content blocks must contain non-whitespace text")
    elif kind in ("image", "document"):
        _source(block.get("source"), f"{where}.{kind}.source", kind)
    elif kind == "tool_use":
        if not isinstance(block.get("id"), str) or not TOOL_ID.fullmatch(block["id"]):
            raise Invalid(f"{where}.tool_use.id: String should match pattern "
                          "'^[a-zA-Z0-9_-]+$'")
        if not isinstance(block.get("name"), str) or not isinstance(block.get("input"), dict):
            raise Invalid(f"{where}.tool_use: 'name' and an object 'input' are required")
    elif kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str):
            raise Invalid(f"{where}.tool_result.tool_use_id: Field required")
        content = block.get("content", "")
        if isinstance(content, list):
            for k, inner in enumerate(content):
                if not isinstance(inner, dict) or inner.get("type") not in ("text", "image"):
                    raise Invalid(f"{where}.tool_result.content.{k}: Input should be a text "
                                  "or image block")
                _block(inner, f"{where}.tool_result.content.{k}")
        elif not isinstance(content, str):
            raise Invalid(f"{where}.tool_result.content: Input should be a string or list")


def _source(source, where: str, kind: str) -> None:
    if not isinstance(source, dict):
        raise Invalid(f"{where}: Field required")
    if source.get("type") == "url" and kind == "image":
        if set(source) != {"type", "url"} or not re.match(r"https?://", str(source["url"])):
            raise Invalid(f"{where}.url: Input should be a valid URL")
        return
    if source.get("type") != "base64" or set(source) != {"type", "media_type", "data"}:
        raise Invalid(f"{where}: Input tag does not match the expected tags: 'base64', 'url'")
    types = IMAGE_TYPES if kind == "image" else {"application/pdf"}
    if source["media_type"] not in types:
        raise Invalid(f"{where}.media_type: Input should be {', '.join(sorted(types))}")
    try:
        base64.b64decode(source["data"], validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise Invalid(f"{where}.data: invalid base64 data") from None


def _tool_pairing(previous: dict, message: dict, i: int) -> None:
    """A tool_use turn must be followed by a user turn answering every id, results first."""
    uses = [b["id"] for b in _blocks(previous) if b["type"] == "tool_use"]
    results = [b["tool_use_id"] for b in _blocks(message) if b["type"] == "tool_result"]
    if uses and set(uses) - set(results):
        missing = ", ".join(sorted(set(uses) - set(results)))
        raise Invalid(f"messages.{i - 1}: `tool_use` ids were found without `tool_result` "
                      f"blocks immediately after: {missing}. Each `tool_use` block must have "
                      "a corresponding `tool_result` block in the next message.")
    extra = set(results) - set(uses)
    if extra:
        raise Invalid(f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` "
                      f"blocks: {', '.join(sorted(extra))}. Each `tool_result` block must have "
                      "a corresponding `tool_use` block in the previous message.")
