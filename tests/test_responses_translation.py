"""The Responses API to Anthropic and Gemini keys: translated through chat, both ways.

The official openai SDK drives the proxy (non-streamed, streamed with `stream=True` and
with `responses.stream()` accumulating the final response, function calls round trip);
the fakes check the translated requests as the real APIs would.
"""
from __future__ import annotations

import json

import pytest
from anthropic_common import ant_key
from fake_anthropic import FakeAnthropic
from fake_gemini import FakeGemini, candidate
from fake_openai import FakeOpenAI
from gemini_common import gem_key
from responses_common import TOKEN, WEATHER, assert_well_formed, named_events

CLAUDE = "claude-sonnet-4-5"
GEMINI = "gemini-2.5-flash"


@pytest.fixture(params=["anthropic", "gemini"])
def target(request, make_proxy):
    """(proxy, fake, model, the fake's answer) for an Anthropic or a Gemini key."""
    if request.param == "anthropic":
        fake = FakeAnthropic(valid_keys={ant_key(0)})
        entry = {"provider": "anthropic", "model": CLAUDE, "api_key": ant_key(0),
                 "base_url": fake.url}
        text = "Hello from Claude."
    else:
        fake = FakeGemini(valid_keys={gem_key(0)})
        entry = {"provider": "gemini", "model": GEMINI, "api_key": gem_key(0),
                 "base_url": fake.url}
        text = "Hello from Gemini."
    proxy = make_proxy([entry], PROXY_TOKENS=TOKEN)
    yield proxy, fake, entry["model"], text
    fake.close()


def sent(fake) -> dict:
    return [c for c in fake.calls if c.method == "POST"][-1].body


def test_a_plain_request_comes_back_as_a_response(target):
    proxy, fake, model, text = target
    client = proxy.openai(TOKEN)
    response = client.responses.create(model=model, input="Say hello",
                                        instructions="Be brief.", max_output_tokens=100)
    assert response.object == "response" and response.status == "completed"
    assert response.output_text == text
    assert response.model == model and response.id.startswith("resp_")
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + \
        response.usage.output_tokens
    body = sent(fake)
    if "messages" in body:  # Anthropic
        assert body["system"] == [{"type": "text", "text": "Be brief."}]
        assert body["max_tokens"] == 100
        assert body["messages"] == [{"role": "user", "content": [{"type": "text",
                                                                  "text": "Say hello"}]}]
    else:
        assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
        assert body["generationConfig"]["maxOutputTokens"] == 100


def test_a_stream_is_the_event_sequence_the_sdk_accumulates(target):
    proxy, fake, model, text = target
    client = proxy.openai(TOKEN)
    with client.responses.stream(model=model, input="Say hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == text
    assert final.output_text == text and final.status == "completed"
    assert final.usage.output_tokens > 0


def test_a_raw_stream_is_well_formed(target):
    proxy, fake, model, text = target
    resp = proxy.http.post(proxy.base + "/responses", json={
        "model": model, "input": "hi", "stream": True, "store": False},
        headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = named_events(resp.content)
    assert_well_formed(events)
    names = [n for n, _ in events]
    assert names[2:5] == ["response.output_item.added", "response.content_part.added",
                          "response.output_text.delta"]
    assert names[-4:-1] == ["response.output_text.done", "response.content_part.done",
                            "response.output_item.done"]
    done = events[-1][1]["response"]
    assert done["output"][0]["content"][0]["text"] == text
    assert done["store"] is False


@pytest.mark.parametrize("stream", [False, True])
def test_function_calls_round_trip(target, stream):
    proxy, fake, model, text = target
    client = proxy.openai(TOKEN)
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        with client.responses.stream(model=model, input=ask, tools=[WEATHER]) as s:
            first = s.get_final_response()
    else:
        first = client.responses.create(model=model, input=ask, tools=[WEATHER])
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments)["city"] == "Paris"
    tool = sent(fake)["tools"]
    assert "get_weather" in json.dumps(tool)
    follow = ask + [item.model_dump(exclude_none=True) for item in first.output] + [
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"}]
    second = client.responses.create(model=model, input=follow, tools=[WEATHER])
    assert "sunny" in second.output_text


def test_namespaced_tools_come_back_with_their_namespace(make_proxy):
    fake = FakeAnthropic(valid_keys={ant_key(0)})
    try:
        proxy = make_proxy([{"provider": "anthropic", "model": CLAUDE, "api_key": ant_key(0),
                             "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        tools = [{"type": "namespace", "name": "crm", "description": "CRM tools.",
                  "tools": [{**WEATHER, "name": "lookup"}]}]
        resp = proxy.http.post(proxy.base + "/responses", json={
            "model": CLAUDE, "input": "Look it up", "tools": tools, "store": False},
            headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status_code == 200, resp.text
        assert fake.bodies[-1]["tools"][0]["name"] == "crm__lookup"
        call = [i for i in resp.json()["output"] if i["type"] == "function_call"][0]
        assert (call["namespace"], call["name"]) == ("crm", "lookup")
        follow = [{"role": "user", "content": "Look it up"}, call,
                  {"type": "function_call_output", "call_id": call["call_id"], "output": "42"}]
        again = proxy.http.post(proxy.base + "/responses", json={
            "model": CLAUDE, "input": follow, "tools": tools},
            headers={"Authorization": f"Bearer {TOKEN}"})
        assert again.status_code == 200, again.text
        turn = fake.bodies[-1]["messages"][1]["content"]
        assert [b["name"] for b in turn if b["type"] == "tool_use"] == ["crm__lookup"]
    finally:
        fake.close()


def test_structured_output_and_effort_reach_gemini(make_proxy):
    fake = FakeGemini(valid_keys={gem_key(0)})
    try:
        proxy = make_proxy([{"provider": "gemini", "model": GEMINI, "api_key": gem_key(0),
                             "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        schema = {"type": "object", "properties": {"answer": {"type": "integer"}},
                  "required": ["answer"]}
        response = proxy.openai(TOKEN).responses.create(
            model=GEMINI, input="6 times 7?", reasoning={"effort": "high"},
            text={"format": {"type": "json_schema", "name": "out", "schema": schema}},
            temperature=0.2, prompt_cache_key="abc", metadata={"a": "b"}, store=False)
        assert json.loads(response.output_text) == {"answer": 42}
        config = sent(fake)["generationConfig"]
        assert config["responseJsonSchema"] == schema
        assert config["thinkingConfig"] == {"thinkingBudget": 24576}
        assert config["temperature"] == 0.2
    finally:
        fake.close()


def test_a_developer_message_and_earlier_reasoning(make_proxy):
    fake = FakeAnthropic(valid_keys={ant_key(0)})
    try:
        proxy = make_proxy([{"provider": "anthropic", "model": CLAUDE, "api_key": ant_key(0),
                             "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        items = [{"type": "message", "role": "developer",
                  "content": [{"type": "input_text", "text": "Rules."}]},
                 {"type": "message", "role": "user",
                  "content": [{"type": "input_text", "text": "Q1"}]},
                 {"type": "reasoning", "id": "rs_1", "summary": [],
                  "encrypted_content": "opaque"},
                 {"type": "message", "role": "assistant",
                  "content": [{"type": "output_text", "text": "A1"}]},
                 {"type": "message", "role": "user", "content": "Q2"}]
        response = proxy.openai(TOKEN).responses.create(
            model=CLAUDE, input=items, include=["reasoning.encrypted_content"], store=False)
        assert response.output_text == "Hello from Claude."
        body = fake.bodies[-1]
        assert "Rules." in json.dumps(body["system"])
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
        assert "opaque" not in json.dumps(body)
    finally:
        fake.close()


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_cut_by_max_output_tokens_is_incomplete(make_proxy, stream):
    fake = FakeGemini(valid_keys={gem_key(0)})
    try:
        proxy = make_proxy([{"provider": "gemini", "model": GEMINI, "api_key": gem_key(0),
                             "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        fake.script([{"candidates": [candidate([{"text": "Hel"}], "MAX_TOKENS")],
                      "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2,
                                        "totalTokenCount": 5}}])
        client = proxy.openai(TOKEN)
        if stream:
            events = list(client.responses.create(model=GEMINI, input="hi",
                                                  max_output_tokens=2, stream=True))
            assert events[-1].type == "response.incomplete"
            assert events[-1].response.incomplete_details.reason == "max_output_tokens"
            assert events[-1].response.output[0].content[0].text == "Hel"
        else:
            response = client.responses.create(model=GEMINI, input="hi", max_output_tokens=2)
            assert response.status == "incomplete"
            assert response.incomplete_details.reason == "max_output_tokens"
            assert response.output_text == "Hel"
            assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 2)
    finally:
        fake.close()


def test_a_deepseek_key_is_translated_to_chat(make_proxy):
    fake = FakeOpenAI(valid_keys={"sk-deepseek-0123456789abcdef"})
    try:
        proxy = make_proxy([{"provider": "deepseek", "model": "deepseek-chat",
                             "api_key": "sk-deepseek-0123456789abcdef",
                             "base_url": fake.base_url}], PROXY_TOKENS=TOKEN)
        response = proxy.openai(TOKEN).responses.create(
            model="deepseek-chat", input=[{"role": "developer", "content": "Terse."},
                                          {"role": "user", "content": "hi"}],
            reasoning={"effort": "high"}, store=False)
        assert response.output_text == "Hello from the fake."
        call = fake.calls[-1]
        assert call.path == "/v1/chat/completions"
        assert call.body == {"model": "deepseek-chat", "messages": [
            {"role": "system", "content": "Terse."}, {"role": "user", "content": "hi"}]}
    finally:
        fake.close()
