"""Anthropic keys through OpenAI's Chat Completions API: requests and answers, tools, parameters."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
from anthropic_common import MODEL, PNG, USER_HI, WEATHER_TOOL, ant_key, anthropic_entry
from fake_anthropic import message_body, stream_events
from fake_upstream import Reply, Stream


@pytest.fixture
def proxy(make_proxy, anthropic_upstream):
    return make_proxy([anthropic_entry(anthropic_upstream, 0)])


# -- through the official openai SDK ------------------------------------------------------


def test_plain_chat_answers_in_openai_format(proxy, anthropic_upstream):
    reply = proxy.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}])
    assert reply.object == "chat.completion"
    assert reply.model == MODEL
    assert reply.id.startswith("msg_")
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "Hello from Claude."
    assert reply.choices[0].finish_reason == "stop"
    # Anthropic's input_tokens leave out cache reads (4 in the fake's answer).
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens,
            reply.usage.total_tokens) == (25, 3, 28)
    assert reply.usage.prompt_tokens_details.cached_tokens == 4
    call = anthropic_upstream.calls[-1]
    assert (call.method, call.path) == ("POST", "/v1/messages")
    assert call.headers["x-api-key"] == ant_key(0)
    assert call.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in call.headers
    assert call.body == {"model": MODEL, "max_tokens": 8192, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Hello"}]}]}


def test_anthropics_request_id_reaches_the_client_as_x_request_id(proxy):
    for stream in (False, True):
        resp = proxy.chat({"model": MODEL, "messages": USER_HI, "stream": stream})
        assert resp.status_code == 200
        assert resp.headers["x-request-id"] == "req_fake"  # the fake's request-id


def test_system_only_conversation_is_sent_as_a_user_turn(proxy, anthropic_upstream):
    # OpenAI answers it; Anthropic needs at least one message.
    reply = proxy.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Say hi."}])
    assert reply.choices[0].message.content == "Hello from Claude."
    body = anthropic_upstream.bodies[-1]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text",
                                                              "text": "Say hi."}]}]
    assert "system" not in body


def test_two_sampling_settings_get_the_models_own_answer(make_proxy, anthropic_upstream):
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0),
                        anthropic_entry(anthropic_upstream, 1)])
    resp = proxy.chat({"model": MODEL, "messages": USER_HI, "temperature": 0.5, "top_p": 0.9})
    assert resp.status_code == 400
    assert "cannot both be specified" in resp.json()["error"]["message"]
    assert len(anthropic_upstream.calls) == 1  # a request error: no other key tried


def test_system_and_developer_messages_become_the_system_prompt(proxy, anthropic_upstream):
    proxy.openai().chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "Hi"}])
    body = anthropic_upstream.bodies[-1]
    assert body["system"] == [{"type": "text", "text": "Be brief."},
                              {"type": "text", "text": "Answer in French."}]
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_multi_turn_keeps_order_and_merges_same_role_turns(proxy, anthropic_upstream):
    proxy.openai().chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "My name is Ada."},
        {"role": "user", "content": "Remember it."},
        {"role": "assistant", "content": "I will, Ada."},
        {"role": "system", "content": "Stay polite."},
        {"role": "user", "content": "What is my name?"}])
    body = anthropic_upstream.bodies[-1]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "My name is Ada."},
                                     {"type": "text", "text": "Remember it."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "I will, Ada."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is my name?"}]}]
    assert body["system"] == [{"type": "text", "text": "Stay polite."}]


def test_empty_turns_are_left_out_and_a_final_assistant_turn_is_trimmed(proxy,
                                                                        anthropic_upstream):
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "Start."},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "  "},
        {"role": "user", "content": "Go on."},
        {"role": "assistant", "content": "The answer is "}])
    assert reply.choices[0].message.content == "Hello from Claude."
    assert anthropic_upstream.bodies[-1]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Start."},
                                     {"type": "text", "text": "Go on."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "The answer is"}]}]


def test_images_as_data_uri_and_as_url(proxy, anthropic_upstream):
    proxy.openai().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}",
                                            "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}])
    content = anthropic_upstream.bodies[-1]["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "Compare these."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]


def test_pdf_file_part_becomes_a_document(proxy, anthropic_upstream):
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    proxy.openai().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
        {"type": "file", "file": {"filename": "a.pdf",
                                  "file_data": f"data:application/pdf;base64,{pdf}"}},
        {"type": "text", "text": "Summarise."}]}])
    assert anthropic_upstream.bodies[-1]["messages"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}}


def test_conversation_opening_with_an_assistant_greeting_is_sent_as_is(proxy,
                                                                       anthropic_upstream):
    # The Messages API reference sets no rule on the first role; OpenAI clients send this.
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "Be kind."},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "Tell me a joke."}])
    assert reply.choices[0].message.content == "Hello from Claude."
    assert [m["role"] for m in anthropic_upstream.bodies[-1]["messages"]] == ["assistant", "user"]


def test_tool_call_ids_outside_anthropics_alphabet_are_mapped_consistently(proxy,
                                                                          anthropic_upstream):
    call = {"id": "call:1/a", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}
    proxy.openai().chat.completions.create(model=MODEL, tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call:1/a", "content": "sunny"}])
    turns = anthropic_upstream.bodies[-1]["messages"]
    assert turns[1]["content"][0]["id"] == "call_1_a"
    assert turns[1]["content"][0]["input"] == {}
    assert turns[2]["content"][0]["tool_use_id"] == "call_1_a"


def test_token_usage_reaches_key_statistics(proxy, anthropic_upstream):
    client = proxy.openai()
    client.chat.completions.create(model=MODEL, messages=USER_HI)
    list(client.chat.completions.create(model=MODEL, messages=USER_HI, stream=True))
    stats = proxy.admin("GET", "/api/keys").json()["keys"][0]["stats"]
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (50, 6)
    assert stats["successes"] == 2


def test_tool_call_round_trip(proxy, anthropic_upstream):
    client = proxy.openai()
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages,
                                           tools=[WEATHER_TOOL], tool_choice="auto")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert call.id.startswith("toolu_")
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    sent = anthropic_upstream.bodies[-1]
    assert sent["tools"] == [{"name": "get_weather", "description": "Weather of a city.",
                              "input_schema": WEATHER_TOOL["function"]["parameters"]}]
    assert sent["tool_choice"] == {"type": "auto"}

    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "22 degrees, sunny"}]
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == "The tool said: 22 degrees, sunny"
    assert final.choices[0].finish_reason == "stop"
    turns = anthropic_upstream.bodies[-1]["messages"]
    assert turns[1] == {"role": "assistant", "content": [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": call.id, "name": "get_weather",
         "input": {"city": "Paris", "unit": "celsius"}}]}
    assert turns[2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call.id,
         "content": [{"type": "text", "text": "22 degrees, sunny"}]}]}


def test_parallel_tool_results_share_one_user_turn_before_any_text(proxy, anthropic_upstream):
    calls = [{"id": f"call_{n}", "type": "function",
              "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}
             for n, city in ((1, "Paris"), (2, "Rome"))]
    reply = proxy.openai().chat.completions.create(model=MODEL, tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "rain"}]},
        {"role": "user", "content": "Summarise."}])
    assert reply.choices[0].message.content == "The tool said: sunny; rain"
    last = anthropic_upstream.bodies[-1]["messages"][-1]
    assert [b["type"] for b in last["content"]] == ["tool_result", "tool_result", "text"]


def test_tool_choice_required_named_and_no_parallel_calls(proxy, anthropic_upstream):
    client = proxy.openai()
    client.chat.completions.create(model=MODEL, tools=[WEATHER_TOOL], tool_choice="required",
                                   parallel_tool_calls=False,
                                   messages=[{"role": "user", "content": "Go"}])
    assert anthropic_upstream.bodies[-1]["tool_choice"] == {
        "type": "any", "disable_parallel_tool_use": True}
    client.chat.completions.create(
        model=MODEL, tools=[WEATHER_TOOL], messages=[{"role": "user", "content": "Go"}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert anthropic_upstream.bodies[-1]["tool_choice"] == {"type": "tool", "name": "get_weather"}
    reply = client.chat.completions.create(model=MODEL, tools=[WEATHER_TOOL], tool_choice="none",
                                           messages=[{"role": "user", "content": "Go"}])
    assert anthropic_upstream.bodies[-1]["tool_choice"] == {"type": "none"}
    assert reply.choices[0].message.tool_calls is None


# -- parameter mapping (table) ----------------------------------------------------------------


# (OpenAI parameters, fields expected in the Anthropic body; None = must be absent)
PARAMETERS = [
    ({"temperature": 0.2}, {"temperature": 0.2, "top_p": None}),
    ({"top_p": 0.9}, {"top_p": 0.9, "temperature": None}),
    # Claude refuses the two together; the one at Anthropic's default (1) changes nothing.
    ({"temperature": 0.2, "top_p": 1}, {"temperature": 0.2, "top_p": None}),
    ({"temperature": 1, "top_p": 0.9}, {"temperature": None, "top_p": 0.9}),
    ({"user": "u" * 300}, {"metadata": {"user_id": hashlib.sha256(b"u" * 300).hexdigest()}}),
    ({"max_tokens": 300}, {"max_tokens": 300}),
    ({"max_completion_tokens": 200, "max_tokens": 300}, {"max_tokens": 200}),
    ({}, {"max_tokens": 8192}),
    ({"stop": "END"}, {"stop_sequences": ["END"]}),
    ({"stop": ["a", "b"]}, {"stop_sequences": ["a", "b"]}),
    ({"stop": None}, {"stop_sequences": None}),
    ({"n": 1}, {"n": None}),
    ({"user": "user-42"}, {"metadata": {"user_id": "user-42"}, "user": None}),
    ({"safety_identifier": "hash-1"}, {"metadata": {"user_id": "hash-1"}}),
    ({"top_k": 40}, {"top_k": 40}),
    ({"stream": False}, {"stream": None}),
    ({"response_format": {"type": "text"}}, {"output_config": None}),
    ({"response_format": {"type": "json_schema", "json_schema": {
        "name": "answer", "strict": True, "schema": {"type": "object", "properties": {
            "x": {"type": "integer"}}, "required": ["x"], "additionalProperties": False}}}},
     {"output_config": {"format": {"type": "json_schema", "schema": {
         "type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"],
         "additionalProperties": False}}}}),
    ({"tools": [], "tool_choice": "none"}, {"tools": None, "tool_choice": None}),
    ({"tools": [WEATHER_TOOL], "parallel_tool_calls": False},
     {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}),
    ({"tools": [{"type": "function", "function": {"name": "now"}}]},
     {"tools": [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]}),
    # Sampling and bookkeeping knobs Anthropic does not have are dropped, not sent.
    ({"frequency_penalty": 0.5, "presence_penalty": 0.1, "seed": 7, "logit_bias": {"1": 2},
      "store": True, "metadata": {"a": "b"}, "logprobs": False, "service_tier": "auto",
      "reasoning_effort": "minimal", "prompt_cache_key": "k", "parallel_tool_calls": True,
      "modalities": ["text"], "stream_options": None, "x_unknown": 1},
     {"frequency_penalty": None, "presence_penalty": None, "seed": None, "logit_bias": None,
      "store": None, "metadata": None, "logprobs": None, "service_tier": None,
      "reasoning_effort": None, "prompt_cache_key": None, "parallel_tool_calls": None,
      "modalities": None, "x_unknown": None}),
]


@pytest.mark.parametrize("params,expected", PARAMETERS,
                         ids=[",".join(p) or "defaults" for p, _ in PARAMETERS])
def test_parameter_mapping(proxy, anthropic_upstream, params, expected):
    resp = proxy.chat({"model": MODEL, "messages": USER_HI, **params})
    assert resp.status_code == 200, resp.text
    body = anthropic_upstream.bodies[-1]
    for name, value in expected.items():
        if value is None:
            assert name not in body
        else:
            assert body[name] == value


def test_default_max_tokens_of_claude_3_models(make_proxy, anthropic_upstream):
    proxy = make_proxy([{"provider": "anthropic", "model": "claude-3-haiku-20240307",
                         "api_key": ant_key(0), "base_url": anthropic_upstream.url}])
    resp = proxy.chat({"model": "claude-3-haiku-20240307", "messages": USER_HI})
    assert resp.status_code == 200
    assert anthropic_upstream.bodies[-1]["max_tokens"] == 4096
    assert resp.json()["model"] == "claude-3-haiku-20240307"


# (OpenAI request fields, param named in the 400)
REFUSED = [
    ({"n": 2}, "n"),
    ({"n": "two"}, "n"),
    ({"temperature": 1.5}, "temperature"),
    ({"top_p": "high"}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_completion_tokens": 1.5}, "max_completion_tokens"),
    ({"logprobs": True}, "logprobs"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"modalities": ["text", "audio"]}, "modalities"),
    ({"modalities": 1}, "modalities"),
    ({"reasoning_effort": "high"}, "reasoning_effort"),
    ({"modalities": [True]}, "modalities"),
    ({"stop": "\n"}, "stop"),
    ({"stop": ["END", " \t"]}, "stop"),
    ({"functions": [{"name": "f", "parameters": {"type": "object"}}]}, "functions"),
    ({"stop": [1]}, "stop"),
    ({"user": 5}, "user"),
    ({"tools": [WEATHER_TOOL], "tool_choice": "sometimes"}, "tool_choice"),
    ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "array"}}}]}, "tools[0].function.parameters"),
    ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "system", "content": ""}]}, "messages"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {
        "data": "AAAA", "format": "wav"}}]}]}, "messages[0].content[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "ftp://example.com/a.png"}}]}]}, "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "data:image/bmp;base64,AAAA"}}]}]}, "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "data:image/png;base64,@@@"}}]}]}, "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]},
     "messages[1].tool_calls[0].function.arguments"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f",
                                                      "arguments": "[" * 100_000}}]}]},
     "messages[1].tool_calls[0].function.arguments"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}]},
     "messages[1].tool_call_id"),
    ({"messages": [{"role": "system", "content": [{"type": "image_url"}]},
                   {"role": "user", "content": "x"}]}, "messages[0].content[0]"),
]


@pytest.mark.parametrize("fields,param", REFUSED, ids=[p for _, p in REFUSED])
def test_untranslatable_requests_get_a_clear_400(proxy, anthropic_upstream, fields, param):
    resp = proxy.chat({"model": MODEL, "messages": USER_HI, **fields})
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert err["param"] == param and err["message"]
    assert anthropic_upstream.calls == []


# -- finish_reason mapping (table) ----------------------------------------------------------


FINISH = [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
          ("tool_use", "tool_calls"), ("refusal", "content_filter"), ("pause_turn", "stop"),
          ("model_context_window_exceeded", "length")]


@pytest.mark.parametrize("stop_reason,finish", FINISH)
def test_finish_reason_mapping(proxy, anthropic_upstream, stop_reason, finish):
    content = [{"type": "text", "text": "Partial"}]
    anthropic_upstream.fail(ant_key(0), Reply(200, message_body(content, stop_reason=stop_reason)))
    anthropic_upstream.fail(ant_key(0), Stream(stream_events(content, stop_reason=stop_reason)))
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=USER_HI)
    assert reply.choices[0].finish_reason == finish
    stream = proxy.openai().chat.completions.create(model=MODEL, messages=USER_HI, stream=True)
    finishes = [c.choices[0].finish_reason for c in stream if c.choices]
    assert finishes[-1] == finish
