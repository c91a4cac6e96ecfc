"""Gemini keys through OpenAI's Chat Completions API: requests and answers, tools, parameters."""
from __future__ import annotations

import base64
import json

import openai
import pytest
from conftest import sse_payloads
from fake_gemini import candidate
from gemini_common import (HI, MODEL, PATH, PNG, TIME_TOOL, WEATHER_TOOL, gem_key, gemini_entry,
                           sent_body)


@pytest.fixture
def proxy(make_proxy, gemini_upstream):
    return make_proxy([gemini_entry(gemini_upstream, 0)])


# -- through the official openai SDK ------------------------------------------------------


def test_plain_chat_answers_in_openai_format(proxy, gemini_upstream):
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI)
    assert reply.object == "chat.completion"
    assert reply.model == MODEL
    assert reply.id.startswith("chatcmpl-")
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "Hello from Gemini."
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens,
            reply.usage.total_tokens) == (7, 4, 11)
    call = gemini_upstream.calls[-1]
    assert call.path == PATH and call.query == {}
    assert call.headers["x-goog-api-key"] == gem_key(0)
    assert "authorization" not in call.headers
    assert call.body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_system_and_developer_messages_become_the_system_instruction(proxy, gemini_upstream):
    proxy.openai().chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "hi"}])
    body = sent_body(gemini_upstream)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."},
                                                   {"text": "Answer in French."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_multi_turn_uses_model_role_and_merges_consecutive_turns(proxy, gemini_upstream):
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "My name is Ada."},
        {"role": "user", "content": [{"type": "text", "text": "Remember it."}]},
        {"role": "assistant", "content": "Noted."},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "What is my name?"}])
    assert reply.choices[0].message.content == "Hello from Gemini."
    assert sent_body(gemini_upstream)["contents"] == [
        {"role": "user", "parts": [{"text": "My name is Ada."}, {"text": "Remember it."}]},
        {"role": "model", "parts": [{"text": "Noted."}]},
        {"role": "user", "parts": [{"text": "What is my name?"}]}]


def test_image_data_uri_becomes_inline_data(proxy, gemini_upstream):
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}",
                                                "detail": "high"}}]}])
    assert reply.choices[0].message.content
    assert sent_body(gemini_upstream)["contents"][0]["parts"] == [
        {"text": "What is this?"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}]


def test_http_image_url_is_a_clear_400_and_nothing_is_fetched(proxy, gemini_upstream):
    with pytest.raises(openai.BadRequestError) as caught:
        proxy.openai().chat.completions.create(model=MODEL, messages=[
            {"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])
    error = caught.value.body
    assert "data: URI" in error["message"]
    assert error["param"] == "messages[0].content[0].image_url.url"
    assert gemini_upstream.calls == []


def test_tool_call_round_trip(proxy, gemini_upstream):
    client = proxy.openai()
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages,
                                           tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="auto")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    sent = sent_body(gemini_upstream)
    assert sent["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather of a city.",
         "parametersJsonSchema": WEATHER_TOOL["function"]["parameters"]},
        {"name": "get_time"}]}]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}

    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'}]
    final = client.chat.completions.create(model=MODEL, messages=messages,
                                           tools=[WEATHER_TOOL, TIME_TOOL])
    assert final.choices[0].message.content == 'The tool said: {"temp_c": 21}'
    assert final.choices[0].finish_reason == "stop"
    model_turn, answer_turn = sent_body(gemini_upstream)["contents"][1:]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0]["functionCall"] == {"name": "get_weather",
                                                      "args": {"city": "Paris"}}
    # The fake, like Gemini 3, refuses a replayed call without its thought signature.
    assert model_turn["parts"][0]["thoughtSignature"] in gemini_upstream.signatures
    assert answer_turn == {"role": "user", "parts": [{"functionResponse": {
        "name": "get_weather", "response": {"temp_c": 21}}}]}


def test_tool_calls_gemini_did_not_make_carry_the_documented_stand_in(proxy, gemini_upstream):
    # Another provider's calls (a pool mixing providers), or a history the client wrote.
    reply = proxy.openai().chat.completions.create(model=MODEL, tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_01A", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "toolu_01B", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_01A", "content": "21"},
        {"role": "tool", "tool_call_id": "toolu_01B", "content": "25"}])
    assert reply.choices[0].finish_reason == "stop"
    first, second = sent_body(gemini_upstream)["contents"][1]["parts"]
    # Signed like Gemini's own: the first call of the step only.
    assert first["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in second


def test_parallel_tool_results_go_back_in_one_turn(proxy, gemini_upstream):
    client = proxy.openai()
    messages = [{"role": "user", "content": "Use all tools."}]
    first = client.chat.completions.create(model=MODEL, messages=messages,
                                           tools=[WEATHER_TOOL, TIME_TOOL])
    calls = first.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert len({c.id for c in calls}) == 2
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages += [{"role": "tool", "tool_call_id": c.id, "content": f"result {c.function.name}"}
                 for c in reversed(calls)]
    final = client.chat.completions.create(model=MODEL, messages=messages,
                                           tools=[WEATHER_TOOL, TIME_TOOL])
    assert final.choices[0].message.content.startswith("The tool said: ")
    answers = sent_body(gemini_upstream)["contents"][-1]["parts"]
    assert answers == [
        {"functionResponse": {"name": "get_time", "response": {"output": "result get_time"}}},
        {"functionResponse": {"name": "get_weather",
                              "response": {"output": "result get_weather"}}}]


# -- parameters (table-driven) ----------------------------------------------------------


PARAMETERS = [
    ({"temperature": 0.3}, {"temperature": 0.3}),
    ({"top_p": 0.9}, {"topP": 0.9}),
    ({"max_tokens": 50}, {"maxOutputTokens": 50}),
    ({"max_completion_tokens": 60, "max_tokens": 50}, {"maxOutputTokens": 60}),
    ({"stop": "END"}, {"stopSequences": ["END"]}),
    ({"stop": ["a", "b"]}, {"stopSequences": ["a", "b"]}),
    ({"n": 2}, {"candidateCount": 2}),
    ({"presence_penalty": 0.5, "frequency_penalty": -0.5},
     {"presencePenalty": 0.5, "frequencyPenalty": -0.5}),
    ({"seed": 7}, {"seed": 7}),
    ({"response_format": {"type": "json_object"}}, {"responseMimeType": "application/json"}),
    ({"response_format": {"type": "json_schema", "json_schema": {
        "name": "answer", "strict": True, "schema": {
            "type": "object", "properties": {"answer": {"type": "integer"}},
            "required": ["answer"], "additionalProperties": False}}}},
     {"responseMimeType": "application/json", "responseJsonSchema": {
         "type": "object", "properties": {"answer": {"type": "integer"}},
         "required": ["answer"], "additionalProperties": False}}),
    ({"response_format": {"type": "text"}}, None),
    ({"logprobs": True, "top_logprobs": 3}, {"responseLogprobs": True, "logprobs": 3}),
    ({"top_k": 5}, {"topK": 5}),
    # Gemini 2.5 (MODEL): token budgets, as Google's OpenAI-compatible endpoint maps them.
    ({"reasoning_effort": "none"}, {"thinkingConfig": {"thinkingBudget": 0}}),
    ({"reasoning_effort": "low"}, {"thinkingConfig": {"thinkingBudget": 1024}}),
    ({"reasoning_effort": "high"}, {"thinkingConfig": {"thinkingBudget": 24576}}),
    # No Gemini counterpart and no effect on the answer: left out, never sent.
    ({"user": "u-1", "metadata": {"a": "b"}, "store": False, "service_tier": "auto",
      "parallel_tool_calls": True, "prompt_cache_key": "k",
      "safety_identifier": "s", "logprobs": False, "modalities": ["text"],
      "stream_options": None, "some_future_field": 1}, None),
]


@pytest.mark.parametrize("params,expected", PARAMETERS)
def test_parameter_mapping(proxy, gemini_upstream, params, expected):
    resp = proxy.chat({"model": MODEL, "messages": HI, **params})
    assert resp.status_code == 200, resp.text
    assert sent_body(gemini_upstream).get("generationConfig") == expected
    assert set(sent_body(gemini_upstream)) == {"contents"} | ({"generationConfig"} if expected
                                                              else set())


@pytest.mark.parametrize("model,effort,thinking", [
    # Gemini 3 Pro has two levels, Flash four; neither can switch thinking off.
    ("gemini-3-pro-preview", "low", {"thinkingLevel": "low"}),
    ("gemini-3-pro-preview", "medium", {"thinkingLevel": "high"}),
    ("gemini-3-pro-preview", "none", {"thinkingLevel": "low"}),
    ("models/gemini-3-pro-preview", "minimal", {"thinkingLevel": "low"}),
    ("gemini-3-flash-preview", "medium", {"thinkingLevel": "medium"}),
    ("gemini-3-flash-preview", "none", {"thinkingLevel": "minimal"}),
    # Gemini 2.5 Pro cannot switch thinking off either: its smallest budget.
    ("gemini-2.5-pro", "none", {"thinkingBudget": 128}),
    ("gemini-2.5-flash-lite", "none", {"thinkingBudget": 0}),
])
def test_reasoning_effort_follows_each_gemini_models_own_settings(make_proxy, gemini_upstream,
                                                                  model, effort, thinking):
    proxy = make_proxy([gemini_entry(gemini_upstream, 0, model=model)])
    resp = proxy.chat({"model": model, "messages": HI, "reasoning_effort": effort})
    assert resp.status_code == 200, resp.text
    assert sent_body(gemini_upstream)["generationConfig"] == {"thinkingConfig": thinking}


def test_unknown_reasoning_effort_is_a_clear_400(proxy, gemini_upstream):
    resp = proxy.chat({"model": MODEL, "messages": HI, "reasoning_effort": "extreme"})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "reasoning_effort"
    assert gemini_upstream.calls == []


TOOL_CHOICES = [
    ("auto", {"mode": "AUTO"}),
    ("none", {"mode": "NONE"}),
    ("required", {"mode": "ANY"}),
    ({"type": "function", "function": {"name": "get_time"}},
     {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
]


@pytest.mark.parametrize("choice,expected", TOOL_CHOICES)
def test_tool_choice_mapping(proxy, gemini_upstream, choice, expected):
    resp = proxy.chat({"model": MODEL, "messages": HI, "tools": [WEATHER_TOOL, TIME_TOOL],
                       "tool_choice": choice})
    assert resp.status_code == 200, resp.text
    assert sent_body(gemini_upstream)["toolConfig"] == {"functionCallingConfig": expected}
    message = resp.json()["choices"][0]["message"]
    if choice == "none":
        assert message["content"] and "tool_calls" not in message
    elif isinstance(choice, dict):
        assert message["tool_calls"][0]["function"]["name"] == "get_time"


REFUSED = [
    ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ({"audio": {"voice": "alloy", "format": "wav"}, "modalities": ["text", "audio"]}, "audio"),
    ({"modalities": ["text", "audio"]}, "modalities"),
    ({"functions": [{"name": "f", "parameters": {}}]}, "functions"),
    ({"temperature": "hot"}, "temperature"),
    ({"n": 1.5}, "n"),
    ({"stop": [1, 2]}, "stop"),
    ({"response_format": {"type": "xml"}}, "response_format.type"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
    ({"tools": [WEATHER_TOOL], "tool_choice": {"type": "function",
                                               "function": {"name": "nope"}}}, "tool_choice"),
    ({"messages": [{"role": "tool", "tool_call_id": "call_x", "content": "1"}]},
     "messages[0].tool_call_id"),
    ({"messages": [{"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]},
     "messages[0].tool_calls[0].function.arguments"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "data:;base64,AAAA"}}]}]}, "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "data:text/plain,%FF\ud800"}}]}]}, "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "user", "content": ""}]}, "messages"),
    ({"messages": [{"role": "function", "name": "f", "content": "1"}]}, "messages[0].role"),
]


@pytest.mark.parametrize("params,param", REFUSED)
def test_untranslatable_input_is_a_400_naming_the_parameter(proxy, gemini_upstream, params,
                                                            param):
    resp = proxy.chat({"model": MODEL, "messages": HI, **params})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert gemini_upstream.calls == []


def test_system_only_conversation_is_sent_as_the_user_turn(proxy, gemini_upstream):
    resp = proxy.chat({"model": MODEL, "messages": [{"role": "system", "content": "Say hi."}]})
    assert resp.status_code == 200
    assert sent_body(gemini_upstream) == {"contents": [{"role": "user",
                                                        "parts": [{"text": "Say hi."}]}]}


def test_audio_file_and_plain_data_uri_parts_become_inline_data(proxy, gemini_upstream):
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    resp = proxy.chat({"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{pdf}",
                                  "filename": "a.pdf"}},
        {"type": "file", "file": {"file_data": pdf, "filename": "b.pdf"}},
        {"type": "image_url", "image_url": {"url": "data:text/plain,hello%20world"}}]}]})
    assert resp.status_code == 200, resp.text
    assert sent_body(gemini_upstream)["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "audio/wav", "data": PNG}},
        {"inlineData": {"mimeType": "application/pdf", "data": pdf}},
        {"inlineData": {"mimeType": "application/pdf", "data": pdf}},
        {"inlineData": {"mimeType": "text/plain",
                        "data": base64.b64encode(b"hello world").decode()}}]


def test_n_gives_one_choice_per_candidate(proxy, gemini_upstream):
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI, n=2)
    assert [c.index for c in reply.choices] == [0, 1]
    assert all(c.message.content == "Hello from Gemini." for c in reply.choices)


def test_json_response_format_round_trip(proxy, gemini_upstream):
    reply = proxy.openai().chat.completions.create(
        model=MODEL, messages=HI, response_format={"type": "json_object"})
    assert json.loads(reply.choices[0].message.content) == {"answer": 42}


def test_logprobs_are_translated(proxy, gemini_upstream):
    gemini_upstream.script({
        "candidates": [dict(candidate([{"text": "Hi"}]), logprobsResult={
            "topCandidates": [{"candidates": [{"token": "Hi", "logProbability": -0.1},
                                              {"token": "Hey", "logProbability": -2.5}]}],
            "chosenCandidates": [{"token": "Hi", "logProbability": -0.1}]})]})
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI, logprobs=True,
                                                   top_logprobs=2)
    (token,) = reply.choices[0].logprobs.content
    assert (token.token, token.logprob, token.bytes) == ("Hi", -0.1, [72, 105])
    assert [t.token for t in token.top_logprobs] == ["Hi", "Hey"]


# -- answers (table-driven finish reasons) ------------------------------------------------


FINISH_REASONS = [
    ("STOP", [{"text": "ok"}], "stop"),
    ("MAX_TOKENS", [{"text": "ok"}], "length"),
    ("SAFETY", [], "content_filter"),
    ("RECITATION", [{"text": "ok"}], "content_filter"),
    ("BLOCKLIST", [], "content_filter"),
    ("PROHIBITED_CONTENT", [], "content_filter"),
    ("SPII", [], "content_filter"),
    ("OTHER", [{"text": "ok"}], "stop"),
    ("MALFORMED_FUNCTION_CALL", [], "stop"),
    ("STOP", [{"functionCall": {"name": "get_weather", "args": {}}}], "tool_calls"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("gemini_reason,parts,expected", FINISH_REASONS)
def test_finish_reason_mapping(proxy, gemini_upstream, gemini_reason, parts, expected,
                               stream):
    gemini_upstream.script({"candidates": [candidate(parts, gemini_reason)],
                            "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}})
    resp = proxy.chat({"model": MODEL, "messages": HI, "stream": stream}, stream=stream)
    assert resp.status_code == 200, resp.text
    if stream:
        payloads = sse_payloads(resp)
        assert payloads[-1] == "[DONE]"
        assert [p["choices"][0]["finish_reason"] for p in payloads[:-1]][-1] == expected
    else:
        assert resp.json()["choices"][0]["finish_reason"] == expected


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_blocked_prompt_is_a_content_filter_refusal(proxy, gemini_upstream, stream):
    gemini_upstream.script({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                            "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}})
    resp = proxy.chat({"model": MODEL, "messages": HI, "stream": stream}, stream=stream)
    assert resp.status_code == 200
    if stream:
        payloads = sse_payloads(resp)
        assert "SAFETY" in payloads[0]["choices"][0]["delta"]["refusal"]
        assert payloads[-2]["choices"][0]["finish_reason"] == "content_filter"
        assert payloads[-1] == "[DONE]"
    else:
        choice = resp.json()["choices"][0]
        assert choice["finish_reason"] == "content_filter"
        assert choice["message"]["content"] is None
        assert "SAFETY" in choice["message"]["refusal"]


def test_thinking_tokens_count_as_completion_tokens(proxy, gemini_upstream):
    gemini_upstream.script({
        "candidates": [candidate([{"text": "thought", "thought": True}, {"text": "42"}])],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2,
                          "thoughtsTokenCount": 30, "cachedContentTokenCount": 4,
                          "totalTokenCount": 42}})
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI)
    assert reply.choices[0].message.content == "42"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens,
            reply.usage.total_tokens) == (10, 32, 42)
    assert reply.usage.completion_tokens_details.reasoning_tokens == 30
    assert reply.usage.prompt_tokens_details.cached_tokens == 4
    stats = proxy.pool.public_keys()[0]["stats"]
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (10, 32)


def test_model_name_is_quoted_into_the_url(make_proxy, gemini_upstream):
    proxy = make_proxy([gemini_entry(gemini_upstream, 0, model="gemini-x/extra"),
                        gemini_entry(gemini_upstream, 0, model=f"models/{MODEL}")])
    resp = proxy.chat({"model": "gemini-x/extra", "messages": HI})
    assert resp.status_code == 404
    assert gemini_upstream.calls[-1].path == "/v1beta/models/gemini-x%2Fextra:generateContent"
    resp = proxy.chat({"model": f"models/{MODEL}", "messages": HI})
    assert resp.status_code == 200
    assert resp.json()["model"] == f"models/{MODEL}"
    assert gemini_upstream.calls[-1].path == PATH
