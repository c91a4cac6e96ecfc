"""Anthropic streams as OpenAI chunks: text, tool calls, the upstream's pace, broken streams."""
from __future__ import annotations

import json
import time

import pytest
from anthropic_common import MODEL, USER_HI, WEATHER_TOOL, ant_key, anthropic_entry
from conftest import sse_payloads
from fake_anthropic import stream_events
from fake_upstream import Stream, sse


@pytest.fixture
def proxy(make_proxy, anthropic_upstream):
    return make_proxy([anthropic_entry(anthropic_upstream, 0)])


# -- streams ------------------------------------------------------------------------------


def test_streaming_text(proxy, anthropic_upstream):
    stream = proxy.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from Claude."
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 3
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert {c.id for c in chunks} == {chunks[0].id} and chunks[0].model == MODEL
    usage = chunks[-1]
    assert usage.choices == [] and usage.usage.total_tokens == 28
    assert anthropic_upstream.bodies[-1]["stream"] is True
    assert "stream_options" not in anthropic_upstream.bodies[-1]


def test_streaming_without_include_usage_sends_no_usage_chunk_and_ends_with_done(
        proxy, anthropic_upstream):
    resp = proxy.chat({"model": MODEL, "stream": True,
                       "messages": [{"role": "user", "content": "Hi"}]}, stream=True)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    payloads = sse_payloads(resp)
    assert payloads[-1] == "[DONE]"
    assert all(p["choices"] for p in payloads[:-1])
    assert all(p["object"] == "chat.completion.chunk" for p in payloads[:-1])


def test_streaming_tool_call(proxy, anthropic_upstream):
    stream = proxy.openai().chat.completions.create(
        model=MODEL, tools=[WEATHER_TOOL], stream=True,
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    chunks = [c for c in stream if c.choices]
    deltas = [c.choices[0].delta for c in chunks]
    calls = [tc for d in deltas for tc in (d.tool_calls or ())]
    assert calls[0].index == 0 and calls[0].id.startswith("toolu_")
    assert calls[0].function.name == "get_weather" and calls[0].function.arguments == ""
    assert all(tc.index == 0 and tc.id is None for tc in calls[1:])
    arguments = "".join(tc.function.arguments for tc in calls)
    assert json.loads(arguments) == {"city": "Paris", "unit": "celsius"}
    assert len(calls) >= 3  # the arguments arrived in pieces, as Anthropic sent them
    assert "".join(d.content or "" for d in deltas) == "Let me check."
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_streamed_tool_call_without_arguments_ends_with_an_empty_object(proxy,
                                                                       anthropic_upstream):
    # A tool without parameters: Anthropic streams only the documented empty first delta.
    events = [e for e in stream_events([{"type": "tool_use", "id": "toolu_01", "name": "now",
                                         "input": {}}], stop_reason="tool_use")
              if b'"partial_json": "{}"' not in e]
    assert any(b'"partial_json": ""' in e for e in events)
    anthropic_upstream.fail(ant_key(0), Stream(events))
    stream = proxy.openai().chat.completions.create(
        model=MODEL, stream=True, tools=[{"type": "function", "function": {"name": "now"}}],
        messages=[{"role": "user", "content": "What time is it?"}])
    calls = [tc for c in stream if c.choices for tc in (c.choices[0].delta.tool_calls or ())]
    assert calls[0].function.name == "now"
    assert "".join(tc.function.arguments for tc in calls) == "{}"


def test_stream_is_forwarded_as_it_arrives(proxy, anthropic_upstream):
    events = stream_events([{"type": "text", "text": "one two three four"}], pieces=4)
    anthropic_upstream.fail(ant_key(0), Stream(events, interval=0.3))
    resp = proxy.chat({"model": MODEL, "stream": True,
                       "messages": [{"role": "user", "content": "Hi"}]}, stream=True)
    started = time.monotonic()
    arrivals = []
    for line in resp.iter_lines():
        if line.startswith(b"data: ") and b'"content": "' in line and b'""' not in line:
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 4
    # The upstream spaced its events 0.3 s apart; so must the client's chunks be.
    assert arrivals[-1] - arrivals[0] > 0.6


# -- streams that fail ------------------------------------------------------------------------


def test_error_event_mid_stream_ends_the_client_stream_with_an_error(proxy, anthropic_upstream):
    events = stream_events([{"type": "text", "text": "partial answer"}])[:4]
    events.append(sse({"type": "error", "error": {"type": "overloaded_error",
                                                  "message": "Overloaded"}}, "error"))
    anthropic_upstream.fail(ant_key(0), Stream(events))
    resp = proxy.chat({"model": MODEL, "stream": True,
                       "messages": [{"role": "user", "content": "Hi"}]}, stream=True, timeout=10)
    payloads = sse_payloads(resp)
    assert payloads[0]["choices"][0]["delta"]["role"] == "assistant"
    assert payloads[-1]["error"]["message"] == "Overloaded"
    assert "[DONE]" not in payloads


def test_stream_cut_before_message_stop_ends_with_an_error(proxy, anthropic_upstream):
    events = stream_events([{"type": "text", "text": "partial answer"}])
    anthropic_upstream.fail(ant_key(0), Stream(events, drop_after=4))
    resp = proxy.chat({"model": MODEL, "stream": True,
                       "messages": [{"role": "user", "content": "Hi"}]}, stream=True, timeout=10)
    payloads = sse_payloads(resp)
    assert "error" in payloads[-1]
    assert "[DONE]" not in payloads


def test_error_after_content_keeps_the_providers_message(proxy, anthropic_upstream):
    events = stream_events([{"type": "text", "text": "Partial answer"}])
    cut = [e for e in events if b"content_block_stop" in e or b"message_" not in e][:4]
    anthropic_upstream.fail(ant_key(0), Stream([events[0], *cut[1:], sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        "error")]))
    payloads = sse_payloads(proxy.chat({"model": MODEL, "messages": USER_HI, "stream": True},
                                        stream=True))
    assert payloads[-1]["error"]["message"] == "Overloaded"
    key = proxy.admin("GET", "/api/keys").json()["keys"][0]
    assert key["stats"]["last_error"] == "Overloaded"
