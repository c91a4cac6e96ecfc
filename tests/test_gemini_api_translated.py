"""Gemini's own API to OpenAI and Anthropic keys: translated through OpenAI chat and back.

The google-genai SDK talks to the proxy; the fakes check what reaches them as the real
APIs do, and the tests read the exact bodies they received.
"""
from __future__ import annotations

import base64
import json

import pytest
import requests
from anthropic_common import ant_key
from fake_anthropic import FakeAnthropic
from fake_openai import FakeOpenAI
from fake_upstream import Stream, sse
from gemini_api_common import TOKEN, entry, genai_client
from google.genai import errors, types
from helpers import good_key, wait_for

from llm_proxy.formats.gemini_api import chat_stream
from llm_proxy.formats.gemini_api.from_chat import response_body

MODEL = "gemini-via-proxy"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
WEATHER = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather", description="Weather of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}},
                "required": ["city"]})])
NO_AUTO = types.AutomaticFunctionCallingConfig(disable=True)


@pytest.fixture(params=["openai", "anthropic"])
def provider(request):
    return request.param


@pytest.fixture
def fake(provider):
    upstream = FakeOpenAI(valid_keys={good_key(0)}) if provider == "openai" else \
        FakeAnthropic(valid_keys={ant_key(0)})
    yield upstream
    upstream.close()


@pytest.fixture
def proxy(make_proxy, provider, fake):
    return make_proxy([entry(provider, fake, model=MODEL)], PROXY_TOKENS=TOKEN)


def sent(fake) -> dict:
    calls = [c for c in fake.calls if c.method == "POST"]
    return calls[-1].body


def post(proxy, method: str, body, **kwargs) -> requests.Response:
    return requests.post(proxy.url + f"/v1beta/models/{MODEL}:{method}", json=body,
                         headers={"x-goog-api-key": TOKEN}, timeout=10, **kwargs)


def test_openai_gets_the_chat_body_of_a_whole_request(make_proxy):
    fake = FakeOpenAI(valid_keys={good_key(0)})
    try:
        proxy = make_proxy([entry("openai", fake, model="gpt-4o")], PROXY_TOKENS=TOKEN)
        client = genai_client(proxy)
        contents = [
            types.Content(role="user", parts=[types.Part(text="What is this?"),
                                              types.Part.from_bytes(data=base64.b64decode(PNG),
                                                                    mime_type="image/png")]),
            types.Content(role="model", parts=[types.Part(text="A tiny image.")]),
            types.Content(role="user", parts=[types.Part(text="Weather in Paris?")])]
        client.models.generate_content(model="gpt-4o", contents=contents, config=types.GenerateContentConfig(
            system_instruction="Be brief.", temperature=0.2, top_p=0.9, max_output_tokens=99999,
            stop_sequences=["END"], seed=7, tools=[WEATHER], automatic_function_calling=NO_AUTO,
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                mode="ANY", allowed_function_names=["get_weather"])),
            safety_settings=[types.SafetySetting(category="HARM_CATEGORY_HARASSMENT",
                                                 threshold="BLOCK_NONE")]))
        assert sent(fake) == {
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]},
                {"role": "assistant", "content": "A tiny image."},
                {"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "description": "Weather of a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]}}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "temperature": 0.2, "top_p": 0.9, "seed": 7,
            "max_completion_tokens": 16384,  # gpt-4o's most, not the 99999 asked
            "stop": ["END"]}
        assert fake.calls[-1].key == good_key(0)
    finally:
        fake.close()


def test_anthropic_gets_the_messages_body_of_a_whole_request(make_proxy):
    fake = FakeAnthropic(valid_keys={ant_key(0)})
    try:
        proxy = make_proxy([entry("anthropic", fake, model="claude-sonnet-4-5")],
                           PROXY_TOKENS=TOKEN)
        client = genai_client(proxy)
        client.models.generate_content(
            model="claude-sonnet-4-5", contents="Hi", config=types.GenerateContentConfig(
                system_instruction="Be brief.", temperature=0.5, top_k=5, max_output_tokens=300,
                tools=[WEATHER], automatic_function_calling=NO_AUTO,
                tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                    mode="NONE"))))
        body = fake.bodies[-1]
        assert body["system"] == "Be brief." or body["system"][0]["text"] == "Be brief."
        assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
        assert (body["max_tokens"], body["temperature"], body["top_k"]) == (300, 0.5, 5)
        assert body["tool_choice"] == {"type": "none"}
        assert body["tools"][0]["name"] == "get_weather"
        assert body["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}
    finally:
        fake.close()


def test_generate_and_stream_give_the_same_answer(proxy, provider, fake):
    client = genai_client(proxy)
    whole = client.models.generate_content(model=MODEL, contents="hi")
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hi"))
    assert "".join(c.text or "" for c in chunks) == whole.text
    assert whole.text in ("Hello from the fake.", "Hello from Claude.")
    assert whole.candidates[0].finish_reason == types.FinishReason.STOP
    assert whole.model_version == MODEL and whole.response_id
    usage = whole.usage_metadata
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count > 0
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata.total_token_count == usage.total_token_count
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert len([c for c in fake.calls if c.method == "POST"]) == 2
    assert sent(fake)["stream"] is True


@pytest.mark.parametrize("stream", [False, True])
def test_function_calls_round_trip(proxy, provider, fake, stream):
    client = genai_client(proxy)
    config = types.GenerateContentConfig(tools=[WEATHER], automatic_function_calling=NO_AUTO)
    question = types.Content(role="user", parts=[types.Part(text="Weather in Paris?")])
    if stream:
        chunks = list(client.models.generate_content_stream(model=MODEL, contents=[question],
                                                            config=config))
        calls = [call for c in chunks for call in c.function_calls or ()]
        turn = types.Content(role="model", parts=[p for c in chunks
                                                  for p in c.candidates[0].content.parts
                                                  if p.function_call or p.text])
    else:
        first = client.models.generate_content(model=MODEL, contents=[question], config=config)
        calls, turn = first.function_calls, first.candidates[0].content
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert calls[0].args["city"] == "Paris" and calls[0].id
    answer = types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
        id=calls[0].id, name="get_weather", response={"temperature": 21}))])
    second = client.models.generate_content(model=MODEL, contents=[question, turn, answer],
                                            config=config)
    assert second.text == 'The tool said: {"temperature": 21}'
    body = sent(fake)
    if provider == "openai":
        assert body["messages"][1]["tool_calls"][0]["id"] == calls[0].id
        assert body["messages"][2] == {"role": "tool", "tool_call_id": calls[0].id,
                                       "content": '{"temperature": 21}'}
    else:
        assert body["messages"][1]["content"][-1]["id"] == calls[0].id
        result = body["messages"][2]["content"][0]
        assert (result["type"], result["tool_use_id"]) == ("tool_result", calls[0].id)


def test_a_function_response_without_ids_finds_its_call_by_name(proxy, provider, fake):
    body = {"contents": [
        {"role": "user", "parts": [{"text": "Weather?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather",
                                                      "args": {"city": "Oslo"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                         "response": {"t": 3}}}]}],
        "tools": [{"functionDeclarations": [{"name": "get_weather"}]}]}
    resp = post(proxy, "generateContent", body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["candidates"][0]["content"]["parts"] == [
        {"text": 'The tool said: {"t": 3}'}]


def test_a_function_response_whose_id_names_no_call_finds_it_by_name(proxy, provider, fake):
    body = {"contents": [
        {"role": "user", "parts": [{"text": "Weather?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}},
                                    {"functionCall": {"id": "c2", "name": "get_time"}}]},
        {"role": "user", "parts": [{"functionResponse": {"id": "c2", "name": "get_time",
                                                         "response": {"t": "noon"}}},
                                   {"functionResponse": {"id": "other", "name": "get_weather",
                                                         "response": {"t": 3}}}]}],
        "tools": [{"functionDeclarations": [{"name": "get_weather"}, {"name": "get_time"}]}]}
    resp = post(proxy, "generateContent", body)
    assert resp.status_code == 200, resp.text
    if provider == "openai":
        calls = sent(fake)["messages"][1]["tool_calls"]
        results = sent(fake)["messages"][2:4]
        assert [r["tool_call_id"] for r in results] == [calls[1]["id"], calls[0]["id"]] == \
            ["c2", "call_1_0"]


def test_count_tokens_is_an_estimate_said_so(proxy, provider, fake):
    client = genai_client(proxy)
    counted = client.models.count_tokens(model=MODEL, contents="Hello there")
    assert counted.total_tokens >= len("Hello there".split())
    resp = post(proxy, "countTokens", {"contents": [{"role": "user", "parts": [{"text": "x"}]}]})
    assert resp.headers["x-llm-proxy-token-count"] == "estimate"
    assert not [c for c in fake.calls if c.method == "POST"]  # answered by the proxy
    inner = post(proxy, "countTokens", {"generateContentRequest": {
        "model": f"models/{MODEL}", "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "systemInstruction": {"parts": [{"text": "a much longer system instruction " * 20}]}}})
    assert inner.json()["totalTokens"] > resp.json()["totalTokens"]


def test_openai_keys_embed_through_embeddings(make_proxy):
    fake = FakeOpenAI(valid_keys={good_key(0)})
    try:
        proxy = make_proxy([entry("openai", fake, model="text-embedding-3-small")],
                           PROXY_TOKENS=TOKEN)
        client = genai_client(proxy)
        vectors = client.models.embed_content(
            model="text-embedding-3-small", contents=["a", "b"],
            config=types.EmbedContentConfig(output_dimensionality=8, task_type="RETRIEVAL_QUERY"))
        assert [len(v.values) for v in vectors.embeddings] == [8, 8]
        assert fake.calls[-1].path == "/v1/embeddings"
        assert fake.calls[-1].body == {"model": "text-embedding-3-small", "input": ["a", "b"],
                                       "dimensions": 8}
        one = requests.post(proxy.url + "/v1beta/models/text-embedding-3-small:embedContent",
                            json={"content": {"parts": [{"text": "a"}]}},
                            params={"key": TOKEN}, timeout=10)
        assert one.status_code == 200
        assert one.json()["embedding"]["values"] == vectors.embeddings[0].values[:0] + \
            one.json()["embedding"]["values"]
        assert fake.calls[-1].body == {"model": "text-embedding-3-small", "input": "a"}
        assert len(fake.calls) == 2
    finally:
        fake.close()


def test_anthropic_keys_cannot_embed(make_proxy):
    fake = FakeAnthropic(valid_keys={ant_key(0)})
    try:
        proxy = make_proxy([entry("anthropic", fake, model="claude-embed")], PROXY_TOKENS=TOKEN)
        client = genai_client(proxy)
        with pytest.raises(errors.ClientError) as caught:
            client.models.embed_content(model="claude-embed", contents="a")
        assert caught.value.code == 400 and "anthropic" in caught.value.message
        assert not fake.calls
    finally:
        fake.close()


def test_json_output_and_thinking_become_the_targets_settings(make_proxy):
    fake = FakeOpenAI(valid_keys={good_key(0)})
    try:
        proxy = make_proxy([entry("openai", fake, model="gpt-5")], PROXY_TOKENS=TOKEN)
        client = genai_client(proxy)
        client.models.generate_content(
            model="gpt-5", contents="Name a city.", config=types.GenerateContentConfig(
                response_mime_type="application/json",
                response_schema={"type": "OBJECT", "properties": {
                    "city": {"type": "STRING", "nullable": True}}, "required": ["city"]},
                thinking_config=types.ThinkingConfig(thinking_budget=0)))
        body = sent(fake)
        assert body["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "response", "schema": {"type": "object", "properties": {
                "city": {"type": ["string", "null"]}}, "required": ["city"]}}}
        assert body["reasoning_effort"] == "minimal"  # GPT-5 cannot switch thinking off
        # Field names as proto names, as REST clients may write them, read the same.
        resp = requests.post(proxy.url + "/v1beta/models/gpt-5:generateContent", timeout=10,
                             headers={"x-goog-api-key": TOKEN}, json={
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generation_config": {"response_mime_type": "application/json",
                                  "thinking_config": {"thinking_level": "high"}}})
        assert resp.status_code == 200, resp.text
        assert sent(fake)["response_format"] == {"type": "json_object"}
        assert sent(fake)["reasoning_effort"] == "high"
    finally:
        fake.close()


@pytest.mark.parametrize("body, param", [
    ({"generationConfig": {"candidateCount": 2}}, "generationConfig.candidateCount"),
    ({"tools": [{"googleSearch": {}}]}, "tools[0].googleSearch"),
    ({"cachedContent": "cachedContents/abc"}, "cachedContent"),
    ({"generationConfig": {"responseModalities": ["IMAGE"]}},
     "generationConfig.responseModalities"),
    ({"generationConfig": {"responseLogprobs": True}}, "generationConfig.responseLogprobs"),
    ({"unknownField": 1}, "unknownField"),
    ({"contents": [{"role": "user", "parts": [{"fileData": {
        "mimeType": "image/png", "fileUri": "https://generativelanguage.googleapis.com/f"}}]}]},
     "contents[0].parts[0].fileData"),
    ({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "video/mp4",
                                                              "data": "AAAA"}}]}]},
     "contents[0].parts[0].inlineData.mimeType"),
    ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "contents[0].role"),
])
def test_what_cannot_be_carried_is_a_400_naming_it(proxy, provider, fake, body, param):
    request = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], **body}
    resp = post(proxy, "generateContent", request)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    assert param in error["message"]
    assert not [c for c in fake.calls if c.method == "POST"]
    assert post(proxy, "generateContent", {"contents": request["contents"]
                                           if "contents" not in body else
                                           [{"role": "user", "parts": [{"text": "hi"}]}]}) \
        .status_code == 200  # and the proxy keeps serving


def test_an_upstream_error_of_a_translated_key_is_in_googles_envelope(proxy, provider, fake):
    key = good_key(0) if provider == "openai" else ant_key(0)
    from fake_anthropic import error as anthropic_error
    from fake_openai import error as openai_error
    fault = openai_error(400, "Invalid 'messages[0].content': string too long.") \
        if provider == "openai" else anthropic_error(400, "invalid_request_error",
                                                     "prompt is too long")
    fake.fail(key, fault)
    resp = post(proxy, "generateContent", {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert resp.status_code == 400
    assert set(resp.json()) == {"error"}
    error = resp.json()["error"]
    assert set(error) == {"code", "message", "status"}
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert "too long" in error["message"]


def test_a_stream_that_breaks_midway_ends_with_googles_error_event(make_proxy):
    fake = FakeOpenAI(valid_keys={good_key(0)})
    try:
        proxy = make_proxy([entry("openai", fake, model="gpt-4o")], PROXY_TOKENS=TOKEN)
        chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                 "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": "Hel"},
                                                 "finish_reason": None}]}
        fake.fail(good_key(0), Stream([sse(chunk), sse(chunk)], drop_after=2))
        resp = requests.post(proxy.url + "/v1beta/models/gpt-4o:streamGenerateContent",
                             params={"alt": "sse", "key": TOKEN}, timeout=10,
                             json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
        assert resp.status_code == 200
        events = [json.loads(block.removeprefix("data: "))
                  for block in resp.text.strip().split("\r\n\r\n")]
        assert [e["candidates"][0]["content"]["parts"] for e in events[:2]] == \
            [[{"text": "Hel"}], [{"text": "Hel"}]]
        assert events[-1]["error"]["status"] == "UNAVAILABLE"
        assert len(events) == 3  # no finishReason passes for a whole answer
        def broken() -> bool:
            stats = proxy.admin("GET", "/api/keys").json()["keys"][0]["stats"]
            return stats["failures_by_kind"].get("stream_broken") == 1 and \
                stats["successes"] == 0
        assert wait_for(broken)
    finally:
        fake.close()


def test_an_answer_cut_by_max_tokens_finishes_with_max_tokens():
    completion = {"id": "chatcmpl-1", "choices": [{"index": 0, "finish_reason": "length",
                                                   "message": {"role": "assistant",
                                                               "content": "Once upon"}}],
                  "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12,
                            "completion_tokens_details": {"reasoning_tokens": 4}}}
    body = response_body(completion, "m")
    assert body == {"candidates": [{"content": {"parts": [{"text": "Once upon"}], "role": "model"},
                                    "finishReason": "MAX_TOKENS", "index": 0}],
                    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 5,
                                      "totalTokenCount": 12, "thoughtsTokenCount": 4},
                    "modelVersion": "m", "responseId": "1"}
    chunks = [json.dumps({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "Once"}}]}),
              json.dumps({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {},
                                                           "finish_reason": "length"}]}),
              json.dumps({"id": "chatcmpl-1", "choices": [], "usage": completion["usage"]})]
    events = [json.loads(e) for e in chat_stream.iter_events(iter(c.encode() for c in chunks), "m")]
    assert events[0]["candidates"][0]["content"]["parts"] == [{"text": "Once"}]
    assert events[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert events[-1]["usageMetadata"] == body["usageMetadata"]


def test_a_model_with_keys_of_several_providers_serves_each_request_its_way(make_proxy,
                                                                           gemini_upstream):
    fake = FakeOpenAI(valid_keys={good_key(0)})
    try:
        proxy = make_proxy([entry("gemini", gemini_upstream, model="mixed"),
                            entry("openai", fake, model="mixed")], PROXY_TOKENS=TOKEN)
        client = genai_client(proxy)
        texts = [client.models.generate_content(model="mixed", contents="hi").text
                 for _ in range(2)]
        assert texts == ["Hello from Gemini.", "Hello from the fake."]
        assert gemini_upstream.calls[-1].path == "/v1beta/models/mixed:generateContent"
        assert fake.calls[-1].path == "/v1/chat/completions"
        assert len(gemini_upstream.calls) == len(fake.calls) == 1
    finally:
        fake.close()
