"""Gemini streams as OpenAI chunks: text, usage, tool calls, the upstream's pace, broken streams."""
from __future__ import annotations

import json
import time

import pytest
from conftest import sse_payloads
from fake_gemini import candidate, sse_event
from fake_upstream import Stream
from gemini_common import HI, MODEL, STREAM_PATH, TIME_TOOL, WEATHER_TOOL, gemini_entry, sent_body


@pytest.fixture
def proxy(make_proxy, gemini_upstream):
    return make_proxy([gemini_entry(gemini_upstream, 0)])


# -- streams ------------------------------------------------------------------------------


def test_streaming_text(proxy, gemini_upstream):
    stream = proxy.openai().chat.completions.create(model=MODEL, messages=HI, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from Gemini."
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.usage is None for c in chunks)
    assert all(c.id == chunks[0].id and c.model == MODEL for c in chunks)
    call = gemini_upstream.calls[-1]
    assert call.path == STREAM_PATH and call.query == {"alt": ["sse"]}


def test_streaming_usage_chunk_when_asked(proxy, gemini_upstream):
    resp = proxy.chat({"model": MODEL, "messages": HI, "stream": True,
                       "stream_options": {"include_usage": True}}, stream=True)
    payloads = sse_payloads(resp)
    assert payloads[-1] == "[DONE]"
    usage_chunk = payloads[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {"prompt_tokens": 7, "completion_tokens": 4,
                                    "total_tokens": 11}
    assert all(p["usage"] is None for p in payloads[:-2])
    assert "streamOptions" not in json.dumps(sent_body(gemini_upstream))


def test_streaming_tool_calls_and_their_round_trip(proxy, gemini_upstream):
    client = proxy.openai()
    messages = [{"role": "user", "content": "Use all tools."}]
    stream = client.chat.completions.create(model=MODEL, messages=messages, stream=True,
                                            tools=[WEATHER_TOOL, TIME_TOOL])
    calls: dict = {}
    finish = None
    for chunk in stream:
        for delta_call in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta_call.index, {"id": None, "name": "", "args": ""})
            entry["id"] = delta_call.id or entry["id"]
            entry["name"] += delta_call.function.name or ""
            entry["args"] += delta_call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert all(json.loads(c["args"]) == {"city": "Paris"} for c in calls.values())
    messages.append({"role": "assistant", "tool_calls": [
        {"id": c["id"], "type": "function",
         "function": {"name": c["name"], "arguments": c["args"]}} for c in calls.values()]})
    messages += [{"role": "tool", "tool_call_id": c["id"], "content": "done"}
                 for c in calls.values()]
    final = client.chat.completions.create(model=MODEL, messages=messages,
                                           tools=[WEATHER_TOOL, TIME_TOOL])
    assert final.choices[0].message.content == 'The tool said: {"output": "done"}'


def test_stream_chunks_are_forwarded_as_they_arrive(proxy, gemini_upstream):
    gemini_upstream.stream_interval = 0.4
    started = time.perf_counter()
    resp = proxy.chat({"model": MODEL, "messages": HI, "stream": True}, stream=True)
    arrivals = []
    for line in resp.iter_lines():
        if line.startswith(b"data: ") and b'"content": "' in line:
            arrivals.append(time.perf_counter() - started)
    assert len(arrivals) >= 4
    assert arrivals[1] < 0.35          # role + first word arrive before the next event
    assert arrivals[-1] > 1.1          # the rest follow the upstream's pace


def test_n_streams_every_candidate_to_its_finish(proxy, gemini_upstream):
    resp = proxy.chat({"model": MODEL, "messages": HI, "n": 2, "stream": True}, stream=True)
    payloads = sse_payloads(resp)[:-1]
    for index in (0, 1):
        choices = [p["choices"][0] for p in payloads if p["choices"][0]["index"] == index]
        assert choices[0]["delta"]["role"] == "assistant"
        assert "".join(c["delta"].get("content") or "" for c in choices) == "Hello from Gemini."
        assert choices[-1]["finish_reason"] == "stop"


# -- streams that fail ------------------------------------------------------------------------


def test_error_event_mid_stream_ends_the_client_stream(proxy, gemini_upstream):
    gemini_upstream.script([
        {"candidates": [candidate([{"text": "Hel"}], None)]},
        {"error": {"code": 500, "message": "An internal error has occurred.",
                   "status": "INTERNAL"}}])
    resp = proxy.chat({"model": MODEL, "messages": HI, "stream": True}, stream=True,
                      timeout=10)
    payloads = sse_payloads(resp)
    assert payloads[1]["choices"][0]["delta"]["content"] == "Hel"
    assert payloads[-1]["error"]["message"] == "An internal error has occurred."
    assert "[DONE]" not in payloads


@pytest.mark.parametrize("cut", ["dropped", "ended_unfinished"])
def test_broken_stream_ends_with_an_error_event(proxy, gemini_upstream, cut):
    events = [sse_event({"candidates": [candidate([{"text": w}], None)]})
              for w in ("one", " two", " three")]
    gemini_upstream.script(Stream(events, drop_after=2) if cut == "dropped" else Stream(events))
    resp = proxy.chat({"model": MODEL, "messages": HI, "stream": True}, stream=True,
                      timeout=10)
    payloads = sse_payloads(resp)
    assert payloads[-1]["error"]["code"] == "stream_broken"
    assert "[DONE]" not in payloads
