"""The Responses API to OpenAI keys: the body as sent, the answer and each event as they came,
with rotation, failover before the first byte and cooldowns as for chat."""
from __future__ import annotations

import json

import openai
import pytest
from conftest import id_of, listed
from fake_openai import FakeOpenAI, error
from fake_upstream import Stream, sse
from responses_common import (OPENAI_KEY, OPENAI_KEY_2, TOKEN, WEATHER, assert_well_formed,
                              named_events, openai_entry)

MODEL = "gpt-5.1-codex"


@pytest.fixture
def fake():
    upstream = FakeOpenAI(valid_keys={OPENAI_KEY, OPENAI_KEY_2})
    yield upstream
    upstream.close()


@pytest.fixture
def proxy(make_proxy, fake):
    return make_proxy([openai_entry(fake), openai_entry(fake, OPENAI_KEY_2)],
                      PROXY_TOKENS=TOKEN)


def post(proxy, body, **kwargs):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return proxy.http.post(proxy.base + "/responses", data=raw,
                           headers={"Authorization": f"Bearer {TOKEN}",
                                    "Content-Type": "application/json"}, **kwargs)


def test_the_body_goes_upstream_as_sent_and_the_answer_comes_back_as_it_came(proxy, fake):
    raw = b'{"model": "gpt-5.1-codex",  "input": "hi", "store": true, "metadata": {"x": "1"}}'
    resp = post(proxy, raw)
    assert resp.status_code == 200, resp.text
    call = [c for c in fake.calls if c.path == "/v1/responses"][-1]
    assert call.raw == raw
    assert call.key == OPENAI_KEY and call.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert resp.json()["output"][0]["content"][0]["text"] == "Hello from the fake."
    assert resp.headers["x-request-id"].startswith("req_")


def test_the_sdk_non_streamed_and_streamed(proxy):
    client = proxy.openai(TOKEN)
    response = client.responses.create(model=MODEL, input="hi")
    assert response.output_text == "Hello from the fake."
    with client.responses.stream(model=MODEL, input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Hello from the fake."
    events = list(client.responses.create(model=MODEL, input="hi", stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"


def test_a_stream_is_relayed_event_by_event(proxy, fake):
    resp = post(proxy, {"model": MODEL, "input": "hi", "stream": True})
    assert resp.status_code == 200
    events = named_events(resp.content)
    assert_well_formed(events)
    assert len([n for n, _ in events if n == "response.output_text.delta"]) == len(fake.words)


def test_function_calls_round_trip(proxy, fake):
    client = proxy.openai(TOKEN)
    first = client.responses.create(model=MODEL, input="Weather?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    follow = [{"role": "user", "content": "Weather?"}, call.model_dump(exclude_none=True),
              {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]
    second = client.responses.create(model=MODEL, input=follow, tools=[WEATHER])
    assert second.output_text == "The tool said: sunny"
    assert fake.calls[-1].body["input"][1]["call_id"] == call.call_id


def test_keys_take_turns(proxy, fake):
    for _ in range(4):
        assert post(proxy, {"model": MODEL, "input": "hi"}).status_code == 200
    assert fake.keys_used("/responses") == [OPENAI_KEY, OPENAI_KEY_2] * 2


def test_a_rate_limited_key_fails_over_and_cools_down(proxy, fake):
    fake.fail(OPENAI_KEY, error(429, "Rate limit reached", "requests", code="rate_limit_exceeded",
                                headers={"retry-after": "30"}))
    resp = post(proxy, {"model": MODEL, "input": "hi"})
    assert resp.status_code == 200
    assert fake.keys_used("/responses") == [OPENAI_KEY, OPENAI_KEY_2]
    post(proxy, {"model": MODEL, "input": "hi"})
    assert fake.keys_used("/responses")[-1] == OPENAI_KEY_2  # the first is cooling down
    keys = listed(proxy)
    assert keys[id_of(proxy, OPENAI_KEY)]["status"] == "cooling_down"
    assert keys[id_of(proxy, OPENAI_KEY_2)]["stats"]["successes"] == 2


def test_an_error_event_before_any_output_fails_over(proxy, fake):
    broken = Stream([sse({"type": "response.created", "response": {"id": "resp_x"},
                          "sequence_number": 0}, event="response.created"),
                     sse({"type": "error", "code": "server_error", "message": "overloaded",
                          "param": None, "sequence_number": 1}, event="error")])
    fake.fail(OPENAI_KEY, broken)
    resp = post(proxy, {"model": MODEL, "input": "hi", "stream": True})
    assert resp.status_code == 200
    events = named_events(resp.content)
    assert events[-1][0] == "response.completed"
    assert fake.keys_used("/responses") == [OPENAI_KEY, OPENAI_KEY_2]


def test_a_stream_cut_mid_way_ends_with_an_error_event(proxy, fake):
    fake.fail(OPENAI_KEY, lambda call: Stream(
        [sse({"type": "response.created", "response": {}, "sequence_number": 0},
             event="response.created"),
         sse({"type": "response.output_text.delta", "delta": "Hel", "sequence_number": 1},
             event="response.output_text.delta")]))
    resp = post(proxy, {"model": MODEL, "input": "hi", "stream": True})
    events = named_events(resp.content)
    assert events[-1][0] == "error" and events[-1][1]["code"] == "stream_broken"
    assert [n for n, _ in events][:2] == ["response.created", "response.output_text.delta"]


def test_an_upstream_refusal_comes_back_in_openai_envelope(proxy):
    client = proxy.openai(TOKEN)
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")
    assert raised.value.status_code == 400
    assert raised.value.body["code"] == "previous_response_not_found"
