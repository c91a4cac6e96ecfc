"""Gemini keys served through OpenAI's Chat Completions API: both directions, streams, tools."""
from __future__ import annotations

import base64
import json
import time

import openai
import pytest
from conftest import sse_payloads
from fake_gemini import (FakeGemini, bad_key, google_error, invalid, quota_exceeded,
                         sse_event)
from fake_upstream import Reply, Stream

MODEL = "gemini-2.5-flash"
PATH = f"/v1beta/models/{MODEL}:generateContent"
STREAM_PATH = f"/v1beta/models/{MODEL}:streamGenerateContent"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": False}}}
TIME_TOOL = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {}}}}
HI = [{"role": "user", "content": "hi"}]


def gem_key(i: int) -> str:
    return f"AIzaSyFake{i}-0123456789abcdefghijklmnop"


@pytest.fixture
def gemini_upstream():
    fake = FakeGemini(valid_keys={gem_key(i) for i in range(4)})
    yield fake
    fake.close()


@pytest.fixture
def proxy(make_proxy, gemini_upstream):
    return make_proxy([_entry(gemini_upstream, 0)])


def _entry(fake, i: int, key: str | None = None, model: str = MODEL) -> dict:
    return {"provider": "gemini", "model": model, "api_key": key or gem_key(i),
            "base_url": fake.url}


def _sent(fake) -> dict:
    """The body of the last request the fake received."""
    return fake.calls[-1].body


def _candidate(parts, finish="STOP", index=0) -> dict:
    out = {"content": {"parts": parts, "role": "model"}, "index": index}
    if finish:
        out["finishReason"] = finish
    return out


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
    body = _sent(gemini_upstream)
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
    assert _sent(gemini_upstream)["contents"] == [
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
    assert _sent(gemini_upstream)["contents"][0]["parts"] == [
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
    sent = _sent(gemini_upstream)
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
    model_turn, answer_turn = _sent(gemini_upstream)["contents"][1:]
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
    first, second = _sent(gemini_upstream)["contents"][1]["parts"]
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
    answers = _sent(gemini_upstream)["contents"][-1]["parts"]
    assert answers == [
        {"functionResponse": {"name": "get_time", "response": {"output": "result get_time"}}},
        {"functionResponse": {"name": "get_weather",
                              "response": {"output": "result get_weather"}}}]


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
    assert "streamOptions" not in json.dumps(_sent(gemini_upstream))


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
    assert _sent(gemini_upstream).get("generationConfig") == expected
    assert set(_sent(gemini_upstream)) == {"contents"} | ({"generationConfig"} if expected
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
    proxy = make_proxy([_entry(gemini_upstream, 0, model=model)])
    resp = proxy.chat({"model": model, "messages": HI, "reasoning_effort": effort})
    assert resp.status_code == 200, resp.text
    assert _sent(gemini_upstream)["generationConfig"] == {"thinkingConfig": thinking}


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
    assert _sent(gemini_upstream)["toolConfig"] == {"functionCallingConfig": expected}
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
    assert _sent(gemini_upstream) == {"contents": [{"role": "user",
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
    assert _sent(gemini_upstream)["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "audio/wav", "data": PNG}},
        {"inlineData": {"mimeType": "application/pdf", "data": pdf}},
        {"inlineData": {"mimeType": "application/pdf", "data": pdf}},
        {"inlineData": {"mimeType": "text/plain",
                        "data": base64.b64encode(b"hello world").decode()}}]


def test_n_gives_one_choice_per_candidate(proxy, gemini_upstream):
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI, n=2)
    assert [c.index for c in reply.choices] == [0, 1]
    assert all(c.message.content == "Hello from Gemini." for c in reply.choices)


def test_n_streams_every_candidate_to_its_finish(proxy, gemini_upstream):
    resp = proxy.chat({"model": MODEL, "messages": HI, "n": 2, "stream": True}, stream=True)
    payloads = sse_payloads(resp)[:-1]
    for index in (0, 1):
        choices = [p["choices"][0] for p in payloads if p["choices"][0]["index"] == index]
        assert choices[0]["delta"]["role"] == "assistant"
        assert "".join(c["delta"].get("content") or "" for c in choices) == "Hello from Gemini."
        assert choices[-1]["finish_reason"] == "stop"


def test_json_response_format_round_trip(proxy, gemini_upstream):
    reply = proxy.openai().chat.completions.create(
        model=MODEL, messages=HI, response_format={"type": "json_object"})
    assert json.loads(reply.choices[0].message.content) == {"answer": 42}


def test_logprobs_are_translated(proxy, gemini_upstream):
    gemini_upstream.script({
        "candidates": [dict(_candidate([{"text": "Hi"}]), logprobsResult={
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
    gemini_upstream.script({"candidates": [_candidate(parts, gemini_reason)],
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
        "candidates": [_candidate([{"text": "thought", "thought": True}, {"text": "42"}])],
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
    proxy = make_proxy([_entry(gemini_upstream, 0, model="gemini-x/extra"),
                        _entry(gemini_upstream, 0, model=f"models/{MODEL}")])
    resp = proxy.chat({"model": "gemini-x/extra", "messages": HI})
    assert resp.status_code == 404
    assert gemini_upstream.calls[-1].path == "/v1beta/models/gemini-x%2Fextra:generateContent"
    resp = proxy.chat({"model": f"models/{MODEL}", "messages": HI})
    assert resp.status_code == 200
    assert resp.json()["model"] == f"models/{MODEL}"
    assert gemini_upstream.calls[-1].path == PATH


# -- upstream errors and failover --------------------------------------------------------


def test_bad_key_is_a_key_failure_and_fails_over(make_proxy, gemini_upstream):
    wrong = "AIzaSyWrongKey-0123456789abcdefghijklm"
    proxy = make_proxy([_entry(gemini_upstream, 0, key=wrong), _entry(gemini_upstream, 1)])
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI)
    assert reply.choices[0].message.content == "Hello from Gemini."
    assert gemini_upstream.keys_used() == [wrong, gem_key(1)]
    statuses = {k["api_key"][-4:]: k["status"] for k in proxy.pool.public_keys()}
    assert statuses == {wrong[-4:]: "invalid", gem_key(1)[-4:]: "active"}


def test_only_bad_key_answers_googles_message_without_the_key(make_proxy, gemini_upstream):
    wrong = "AIzaSyWrongKey-0123456789abcdefghijklm"
    proxy = make_proxy([_entry(gemini_upstream, 0, key=wrong)])
    resp = proxy.chat({"model": MODEL, "messages": HI})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
    assert wrong not in resp.text and wrong[:12] not in resp.text


def test_missing_key_header_would_be_refused(gemini_upstream):
    import requests
    resp = requests.post(gemini_upstream.url + PATH, json={"contents": []})
    assert resp.status_code == 403
    resp = requests.post(gemini_upstream.url + PATH + "?key=" + gem_key(0),
                         json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert resp.status_code == 400


def test_rate_limit_uses_retry_delay_and_fails_over(make_proxy, gemini_upstream):
    proxy = make_proxy([_entry(gemini_upstream, 0), _entry(gemini_upstream, 1)])
    gemini_upstream.fail(gem_key(0), quota_exceeded("13s"))
    before = time.time()
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI)
    assert reply.choices[0].message.content == "Hello from Gemini."
    limited = next(k for k in proxy.pool.public_keys() if k["status"] == "cooling_down")
    assert limited["api_key"].endswith(gem_key(0)[-4:])
    assert before + 12 <= limited["cooldown_until"] <= time.time() + 14


def test_all_keys_rate_limited_answers_429_with_retry_after(make_proxy, gemini_upstream):
    proxy = make_proxy([_entry(gemini_upstream, 0)])
    gemini_upstream.fail(gem_key(0), quota_exceeded("7.5s"))
    resp = proxy.chat({"model": MODEL, "messages": HI})
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "8"
    assert resp.json()["error"]["type"] == "rate_limit_error"
    assert "quota" in resp.json()["error"]["message"]


def test_request_error_is_returned_with_googles_message_and_not_retried(make_proxy,
                                                                        gemini_upstream):
    proxy = make_proxy([_entry(gemini_upstream, 0), _entry(gemini_upstream, 1)])
    gemini_upstream.script(invalid("* GenerateContentRequest.contents[0].parts[0].inline_data: "
                                   "Unsupported MIME type: image/x-foo"))
    resp = proxy.chat({"model": MODEL, "messages": HI})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert "Unsupported MIME type" in error["message"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_argument")
    assert len(gemini_upstream.calls) == 1


def test_overloaded_upstream_fails_over(make_proxy, gemini_upstream):
    proxy = make_proxy([_entry(gemini_upstream, 0), _entry(gemini_upstream, 1)])
    gemini_upstream.fail(gem_key(0), google_error(503, "UNAVAILABLE",
                                                  "The model is overloaded. Please try again "
                                                  "later."))
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI)
    assert reply.choices[0].message.content == "Hello from Gemini."
    assert gemini_upstream.keys_used() == [gem_key(0), gem_key(1)]


def test_error_event_mid_stream_ends_the_client_stream(proxy, gemini_upstream):
    gemini_upstream.script([
        {"candidates": [_candidate([{"text": "Hel"}], None)]},
        {"error": {"code": 500, "message": "An internal error has occurred.",
                   "status": "INTERNAL"}}])
    resp = proxy.chat({"model": MODEL, "messages": HI, "stream": True}, stream=True,
                      timeout=10)
    payloads = sse_payloads(resp)
    assert payloads[1]["choices"][0]["delta"]["content"] == "Hel"
    assert payloads[-1]["error"]["message"] == "An internal error has occurred."
    assert "[DONE]" not in payloads


def test_error_as_first_stream_event_fails_over(make_proxy, gemini_upstream):
    proxy = make_proxy([_entry(gemini_upstream, 0), _entry(gemini_upstream, 1)])
    gemini_upstream.fail(gem_key(0), Stream([sse_event(
        {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})]))
    stream = proxy.openai().chat.completions.create(model=MODEL, messages=HI, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "Hello from Gemini."
    assert gemini_upstream.keys_used() == [gem_key(0), gem_key(1)]


@pytest.mark.parametrize("cut", ["dropped", "ended_unfinished"])
def test_broken_stream_ends_with_an_error_event(proxy, gemini_upstream, cut):
    events = [sse_event({"candidates": [_candidate([{"text": w}], None)]})
              for w in ("one", " two", " three")]
    gemini_upstream.script(Stream(events, drop_after=2) if cut == "dropped" else Stream(events))
    resp = proxy.chat({"model": MODEL, "messages": HI, "stream": True}, stream=True,
                      timeout=10)
    payloads = sse_payloads(resp)
    assert payloads[-1]["error"]["code"] == "stream_broken"
    assert "[DONE]" not in payloads


def test_non_json_success_body_is_a_502(proxy, gemini_upstream):
    gemini_upstream.script(Reply(200, "<html>oops</html>"))
    resp = proxy.chat({"model": MODEL, "messages": HI})
    assert resp.status_code == 502
    assert resp.json()["error"]["type"]


# -- key checks ---------------------------------------------------------------------------


def test_key_test_uses_models_list_with_the_header(make_proxy, gemini_upstream):
    wrong = "AIzaSyWrongKey-0123456789abcdefghijklm"
    proxy = make_proxy([_entry(gemini_upstream, 0), _entry(gemini_upstream, 1, key=wrong)])
    good_id, bad_id = (k["id"] for k in proxy.pool.public_keys())
    ok = proxy.admin("POST", f"/api/keys/{good_id}/test")
    assert ok.status_code == 200 and ok.json()["ok"] is True
    call = gemini_upstream.calls[-1]
    assert (call.method, call.path, call.headers["x-goog-api-key"]) == \
        ("GET", "/v1beta/models", gem_key(0))
    assert "key" not in call.query
    bad = proxy.admin("POST", f"/api/keys/{bad_id}/test")
    assert bad.json()["ok"] is False and bad.json()["invalid"] is True
    assert wrong not in bad.text
    assert bad_key().body["error"]["details"][0]["reason"] == "API_KEY_INVALID"
