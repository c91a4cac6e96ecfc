"""The pure transforms of the Messages format, case by case (no server involved)."""
from __future__ import annotations

import json

import pytest

from llm_proxy.errors import (InvalidRequest, NotFound, ProxyError, UpstreamError,
                              UpstreamTimeout, UpstreamUnreachable)
from llm_proxy.formats.anthropic_messages.chat_stream import iter_events
from llm_proxy.formats.anthropic_messages.envelope import MESSAGES, error_type, event
from llm_proxy.formats.anthropic_messages.from_chat import message_body
from llm_proxy.formats.anthropic_messages.limits import (effort_level, max_output_tokens,
                                                         reasoning_effort)
from llm_proxy.providers.base import StreamBroken


def chunk(delta=None, finish=None, **extra) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps({"id": "chatcmpl-abc", "object": "chat.completion.chunk",
                       "choices": choices, **extra}).encode()


def decoded(payloads) -> list:
    out = []
    for payload in payloads:
        name, _, data = payload.partition(b"\n")
        body = json.loads(data)
        assert body["type"] == name.decode()
        out.append(body)
    return out


def accumulate(events: list) -> dict:
    """What the SDK's stream helper builds from the events (its accumulate_event)."""
    from anthropic.lib.streaming._messages import accumulate_event
    snapshot, buffers = None, {}
    for e in events:
        if e["type"] != "ping":
            snapshot = accumulate_event(event=e, current_snapshot=snapshot, json_bufs=buffers)
    return snapshot.model_dump(exclude={"id"}, exclude_none=True)


def test_text_then_parallel_tool_calls_stream_as_blocks_in_order():
    events = decoded(iter_events(iter([
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Checking "}), chunk({"content": "both."}),
        chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "a", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x": 1}'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
                               "function": {"name": "b", "arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
        chunk(usage={"prompt_tokens": 30, "completion_tokens": 9,
                     "prompt_tokens_details": {"cached_tokens": 10}}),
    ]), "m"))
    kinds = [(e["type"], e.get("index")) for e in events]
    assert kinds == [("message_start", None), ("ping", None),
                     ("content_block_start", 0), ("content_block_delta", 0),
                     ("content_block_delta", 0), ("content_block_stop", 0),
                     ("content_block_start", 1), ("content_block_delta", 1),
                     ("content_block_stop", 1), ("content_block_start", 2),
                     ("content_block_delta", 2), ("content_block_stop", 2),
                     ("message_delta", None), ("message_stop", None)]
    message = accumulate(events)
    assert message["content"] == [
        {"type": "text", "text": "Checking both."},
        {"type": "tool_use", "id": "call_1", "name": "a", "input": {"x": 1}},
        {"type": "tool_use", "id": "call_2", "name": "b", "input": {}}]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 20, "output_tokens": 9,
                                "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 10}


@pytest.mark.parametrize("finish,stop", [("stop", "end_turn"), ("length", "max_tokens"),
                                         ("content_filter", "refusal"), (None, "end_turn")])
def test_stream_and_whole_answer_agree_on_the_stop_reason(finish, stop):
    streamed = accumulate(decoded(iter_events(iter([chunk({"content": "Hi"}, finish)]), "m")))
    whole = message_body({"id": "chatcmpl-abc", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi"},
         "finish_reason": finish}]}, "m")
    assert streamed["stop_reason"] == whole["stop_reason"] == stop
    assert streamed["content"] == whole["content"]


def test_a_refusal_is_the_answers_text():
    whole = message_body({"choices": [{"message": {"content": None,
                                                   "refusal": "I can't help with that."},
                                       "finish_reason": "content_filter"}]}, "m")
    assert whole["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert whole["stop_reason"] == "refusal"
    streamed = accumulate(decoded(iter_events(iter([
        chunk({"role": "assistant", "content": None, "refusal": "I can't help with that."}),
        chunk({}, "content_filter")]), "m")))
    assert streamed["content"] == whole["content"]


def test_tool_calls_under_a_stop_finish_still_stop_for_the_tools():
    whole = message_body({"choices": [{"message": {"content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        "finish_reason": "stop"}]}, "m")
    assert whole["stop_reason"] == "tool_use"
    assert whole["content"] == [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]


def test_unreadable_answers_are_value_errors():
    for completion in ({"choices": []}, {"nothing": 1}, {"choices": [{"message": {
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}]}}]}):
        with pytest.raises(ValueError):
            message_body(completion, "m")
    with pytest.raises(StreamBroken):
        list(iter_events(iter([b"not json"]), "m"))
    assert list(iter_events(iter([]), "m")) == []  # the loop reports the empty stream


@pytest.mark.parametrize("err,kind", [
    (InvalidRequest("x"), "invalid_request_error"),
    (NotFound("x"), "not_found_error"),
    (UpstreamError("x", status=402), "billing_error"),
    (UpstreamError("x", status=403), "permission_error"),
    (UpstreamError("x", status=413), "request_too_large"),
    (UpstreamError("x", status=422), "invalid_request_error"),
    (UpstreamError("x", status=529), "overloaded_error"),
    (UpstreamUnreachable(), "api_error"),
    (UpstreamTimeout(), "timeout_error"),
    (ProxyError(), "api_error"),
])
def test_error_types_follow_the_status(err, kind):
    assert error_type(err) == kind
    body, status, headers = MESSAGES.render_error(err)
    assert json.loads(body) == {"type": "error", "error": {"type": kind,
                                                           "message": err.message}}
    assert status == err.status and headers["Content-Type"] == "application/json"


def test_frames_name_the_event_and_split_multi_line_data():
    assert MESSAGES.frame(event("ping", {"type": "ping"})) == \
        b'event: ping\ndata: {"type": "ping"}\n\n'
    assert MESSAGES.frame(b"message_stop\n{\n}") == b"event: message_stop\ndata: {\ndata: }\n\n"
    error = MESSAGES.stream_error("broken")
    assert error.startswith(b"event: error\ndata: ")
    assert json.loads(error.split(b"data: ", 1)[1]) == {
        "type": "error", "error": {"type": "api_error", "message": "broken"}}


@pytest.mark.parametrize("model,limit", [
    ("gpt-4o", 16384), ("gpt-4o-mini", 16384), ("gpt-4o-2024-05-13", 4096),
    ("gpt-4.1-mini", 32768), ("gpt-4", 8192), ("o1-mini", 65536), ("o3-pro", 100000),
    ("gpt-5-chat-latest", 16384), ("gpt-5.1", 128000), ("openai/gpt-4o", 16384),
    ("deepseek-chat", 8192), ("gemini-2.0-flash", 8192), ("models/gemini-2.5-pro", 65536),
    ("llama-3.3-70b", None), ("grok-4", None),
])
def test_output_limits_by_model(model, limit):
    assert max_output_tokens(model) == limit


@pytest.mark.parametrize("thinking,effort,level", [
    (None, None, None), ({"type": "adaptive"}, None, None),
    ({"type": "adaptive"}, "low", "low"), ({"type": "disabled"}, "high", "none"),
    ({"type": "enabled", "budget_tokens": 1024}, None, "low"),
    ({"type": "enabled", "budget_tokens": 10000}, None, "medium"),
    ({"type": "enabled", "budget_tokens": 32000}, None, "high"),
    (None, "xhigh", "high"), (None, "max", "high"),
])
def test_effort_levels(thinking, effort, level):
    assert effort_level(thinking, effort) == level


@pytest.mark.parametrize("provider,model,level,sent", [
    ("openai", "gpt-4o", "high", None), ("openai", "o3", "medium", "medium"),
    ("openai", "gpt-5", "none", "minimal"), ("openai", "o4-mini", "none", "low"),
    ("openai", "gpt-5-chat-latest", "high", None), ("grok", "grok-3-mini", "medium", "high"),
    ("grok", "grok-4", "high", None), ("deepseek", "deepseek-reasoner", "high", None),
    ("gemini", "gemini-2.5-flash", "none", "none"), ("gemini", "gemini-3-pro", "low", "low"),
    ("gemini", "gemini-2.0-flash", "high", None), ("openai-compatible", "qwen3", "high", None),
])
def test_reasoning_settings_by_target(provider, model, level, sent):
    assert reasoning_effort(provider, model, level) == sent


@pytest.mark.parametrize("chunk_json", [
    {"choices": 5}, {"choices": [{"index": 0, "delta": {"tool_calls": 3}}]},
    {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "a"}]}}]},
])
def test_chunks_of_another_shape_break_the_stream_cleanly(chunk_json):
    with pytest.raises(StreamBroken):
        list(iter_events(iter([json.dumps(chunk_json).encode()]), "m"))


def test_answers_of_another_shape_are_value_errors():
    with pytest.raises(ValueError):
        message_body({"choices": [{"message": {"tool_calls": 3}, "finish_reason": ["x"]}]}, "m")
    assert message_body({"choices": [{"message": {"content": "a"}, "finish_reason": ["x"]}]},
                        "m")["stop_reason"] == "end_turn"
