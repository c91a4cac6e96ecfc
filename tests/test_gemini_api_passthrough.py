"""Gemini's own API to Gemini keys: the body and answer as they are, on the shared pool.

The official google-genai SDK talks to the proxy; the fake Gemini API records what reached
it. Rotation, failover before the first byte, cooldowns and statistics work as for the
other client formats.
"""
from __future__ import annotations

import json

import pytest
import requests
from fake_gemini import candidate, quota_exceeded, sse_event
from fake_upstream import Stream
from gemini_api_common import MODEL, TOKEN, genai_client
from gemini_common import gem_key
from google.genai import errors, types

from llm_proxy.formats.gemini_api.passthrough import GeminiRoute
from llm_proxy.formats.gemini_api.request import GeminiRequest
from llm_proxy.pool import Lease

EMBED_MODEL = "gemini-embedding-001"
URL = f"/v1beta/models/{MODEL}:generateContent"


def entries(fake, n: int = 1, model: str = MODEL, **extra) -> list:
    return [{"provider": "gemini", "model": model, "api_key": gem_key(i),
             "base_url": fake.url, **extra} for i in range(n)]


@pytest.fixture
def proxy(make_proxy, gemini_upstream):
    return make_proxy(entries(gemini_upstream, 2) + entries(gemini_upstream, 1, EMBED_MODEL),
                      PROXY_TOKENS=TOKEN)


def test_generate_goes_as_sent_and_comes_back_as_it_came(proxy, gemini_upstream):
    answer = {"candidates": [candidate([{"text": "Bonjour."}])],
              "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2,
                                "totalTokenCount": 5},
              "modelVersion": MODEL, "responseId": "resp-1"}
    gemini_upstream.script(answer)
    raw = json.dumps({"contents": [{"role": "user", "parts": [{"text": "Salut"}]}],
                      "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT",
                                          "threshold": "BLOCK_NONE"}],
                      "generationConfig": {"temperature": 0.1, "topK": 3}},
                     separators=(", ", ": ")).encode()
    resp = requests.post(proxy.url + URL, data=raw, timeout=10, headers={
        "x-goog-api-key": TOKEN, "Content-Type": "application/json",
        "x-goog-api-client": "google-genai-sdk/3.6.1"})
    assert resp.status_code == 200
    assert resp.json() == answer
    call = gemini_upstream.calls[-1]
    assert (call.method, call.path, call.query) == ("POST", URL, {})
    assert call.raw == raw  # byte for byte
    assert call.key == gem_key(0)
    assert TOKEN not in json.dumps(call.headers)
    assert resp.headers["x-llm-proxy-model"] == MODEL


def test_the_sdk_generates_streams_counts_and_embeds(proxy, gemini_upstream):
    client = genai_client(proxy)
    reply = client.models.generate_content(
        model=MODEL, contents="hi", config=types.GenerateContentConfig(
            system_instruction="Be brief.", max_output_tokens=64))
    assert reply.text == "Hello from Gemini."
    assert reply.usage_metadata.total_token_count == 11
    sent = gemini_upstream.calls[-1].body
    assert sent["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert sent["generationConfig"] == {"maxOutputTokens": 64}

    pieces = [c.text for c in client.models.generate_content_stream(model=MODEL, contents="hi")]
    assert pieces == ["Hello", " from", " Gemini", "."]
    call = gemini_upstream.calls[-1]
    assert (call.path, call.query) == (f"/v1beta/models/{MODEL}:streamGenerateContent",
                                       {"alt": ["sse"]})

    counted = client.models.count_tokens(model=MODEL, contents="hi")
    call = gemini_upstream.calls[-1]
    assert call.path == f"/v1beta/models/{MODEL}:countTokens"
    assert counted.total_tokens == max(1, len(json.dumps({"contents": call.body["contents"]})) // 4)

    vectors = client.models.embed_content(model=EMBED_MODEL, contents=["a", "b"],
                                          config=types.EmbedContentConfig(output_dimensionality=4))
    assert [len(e.values) for e in vectors.embeddings] == [4, 4]
    call = gemini_upstream.calls[-1]
    assert call.path == f"/v1beta/models/{EMBED_MODEL}:batchEmbedContents"
    assert [r["model"] for r in call.body["requests"]] == [f"models/{EMBED_MODEL}"] * 2
    assert len(gemini_upstream.calls) == 4
    # Each method went to the next key of the model in turn.
    assert [c.key for c in gemini_upstream.calls[:3]] == [gem_key(0), gem_key(1), gem_key(0)]


def test_a_stream_is_relayed_event_by_event(proxy, gemini_upstream):
    events = [{"candidates": [candidate([{"text": "Un"}], None)], "responseId": "r"},
              {"candidates": [candidate([{"text": " deux"}], "STOP")],
               "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2,
                                 "totalTokenCount": 4}, "responseId": "r"}]
    gemini_upstream.script(events)
    resp = requests.post(proxy.url + f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
                         json={"contents": [{"role": "user", "parts": [{"text": "count"}]}]},
                         headers={"x-goog-api-key": TOKEN}, stream=True, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.content == b"".join(sse_event(e) for e in events)
    stats = [k["stats"] for k in proxy.admin("GET", "/api/keys").json()["keys"]
             if k["model"] == MODEL]
    assert sum(s["prompt_tokens"] for s in stats) == 2


def test_a_stream_that_stops_unfinished_ends_with_an_error_event(proxy, gemini_upstream):
    gemini_upstream.script([{"candidates": [candidate([{"text": "Un"}], None)]}])
    resp = requests.post(proxy.url + f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
                         json={"contents": [{"role": "user", "parts": [{"text": "count"}]}]},
                         headers={"x-goog-api-key": TOKEN}, timeout=10)
    events = [json.loads(block.removeprefix("data: "))
              for block in resp.text.strip().split("\r\n\r\n")]
    assert events[0]["candidates"][0]["content"]["parts"] == [{"text": "Un"}]
    assert events[-1]["error"]["status"] == "UNAVAILABLE"


def test_a_stream_whose_first_event_is_an_error_moves_to_the_next_key(proxy, gemini_upstream):
    gemini_upstream.fail(gem_key(0), Stream([sse_event({"error": {
        "code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})]))
    client = genai_client(proxy)
    pieces = [c.text for c in client.models.generate_content_stream(model=MODEL, contents="hi")]
    assert "".join(pieces) == "Hello from Gemini."
    assert gemini_upstream.keys_used(":streamGenerateContent") == [gem_key(0), gem_key(1)]


def test_a_blocked_prompt_is_relayed_as_a_whole_answer(proxy, gemini_upstream):
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "responseId": "b"}
    gemini_upstream.script([blocked])
    resp = requests.post(proxy.url + f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
                         json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
                         headers={"x-goog-api-key": TOKEN}, timeout=10)
    assert resp.content == sse_event(blocked)


def test_function_calls_round_trip_with_their_signatures(proxy, gemini_upstream):
    client = genai_client(proxy)
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(
        name="get_weather", description="Weather of a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}})])
    config = types.GenerateContentConfig(
        tools=[tool], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    question = types.Content(role="user", parts=[types.Part(text="Weather in Paris?")])
    first = client.models.generate_content(model=MODEL, contents=[question], config=config)
    call = first.function_calls[0]
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    result = types.Content(role="user", parts=[types.Part.from_function_response(
        name="get_weather", response={"temperature": 21})])
    second = client.models.generate_content(
        model=MODEL, contents=[question, first.candidates[0].content, result], config=config)
    assert second.text == 'The tool said: {"temperature": 21}'
    # The signature Gemini gave came back to it (the fake refuses a call without it).
    replayed = gemini_upstream.calls[-1].body["contents"][1]["parts"][0]
    signature = replayed["thoughtSignature"].replace("-", "+").replace("_", "/")
    assert signature in gemini_upstream.signatures


@pytest.mark.parametrize("method, body, named", [
    ("countTokens", {"generateContentRequest": {"model": "models/fast", "contents": []}},
     lambda b: b["generateContentRequest"]["model"]),
    ("embedContent", {"model": "models/fast", "content": {"parts": [{"text": "a"}]}},
     lambda b: b["model"]),
    ("batchEmbedContents", {"requests": [{"model": "models/fast", "content": {}}]},
     lambda b: b["requests"][0]["model"]),
])
def test_a_key_serving_the_model_under_its_own_name_gets_that_name(method, body, named):
    req = GeminiRequest(body=body, raw=json.dumps(body).encode(), model="fast", method=method,
                        stream=False)
    lease = Lease(id="k", generation=1, provider="gemini", model="fast", api_key="AIza-k",
                  base_url="http://127.0.0.1:9", upstream_model=MODEL)
    upstream = GeminiRoute(req).upstream_request(lease)
    assert upstream.url == f"http://127.0.0.1:9/v1beta/models/{MODEL}:{method}"
    assert named(json.loads(upstream.body)) == f"models/{MODEL}"
    assert upstream.headers["x-goog-api-key"] == "AIza-k"


def test_embed_content_goes_as_sent(make_proxy, gemini_upstream):
    proxy = make_proxy(entries(gemini_upstream, 1, EMBED_MODEL))
    body = {"model": f"models/{EMBED_MODEL}", "content": {"parts": [{"text": "a"}]},
            "taskType": "RETRIEVAL_QUERY", "outputDimensionality": 3}
    resp = requests.post(proxy.url + f"/v1/models/{EMBED_MODEL}:embedContent", json=body,
                         params={"key": "anything"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["embedding"]["values"]) == 3
    call = gemini_upstream.calls[-1]
    assert (call.path, call.body, call.query) == (
        f"/v1beta/models/{EMBED_MODEL}:embedContent", body, {})


@pytest.mark.parametrize("how", ["header", "query", "bearer"])
def test_the_proxy_token_goes_as_the_sdks_send_a_key(proxy, gemini_upstream, how):
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    kwargs = {"header": {"headers": {"x-goog-api-key": TOKEN}},
              "query": {"params": {"key": TOKEN}},
              "bearer": {"headers": {"Authorization": f"Bearer {TOKEN}"}}}[how]
    resp = requests.post(proxy.url + URL, json=body, timeout=10, **kwargs)
    assert resp.status_code == 200, resp.text
    call = gemini_upstream.calls[-1]
    assert call.query == {} and call.key == gem_key(0)
    assert "authorization" not in call.headers


def test_failover_between_two_gemini_keys_on_429(proxy, gemini_upstream):
    gemini_upstream.fail(gem_key(0), quota_exceeded("30s"))
    client = genai_client(proxy)
    assert client.models.generate_content(model=MODEL, contents="hi").text == "Hello from Gemini."
    assert gemini_upstream.keys_used(":generateContent") == [gem_key(0), gem_key(1)]
    keys = {k["id"]: k for k in proxy.admin("GET", "/api/keys").json()["keys"]}
    states = sorted(k["status"] for k in keys.values() if k["model"] == MODEL)
    assert states == ["active", "cooling_down"]
    # The cooling key is skipped: the next request goes to the other one only.
    client.models.generate_content(model=MODEL, contents="hi")
    assert gemini_upstream.keys_used(":generateContent") == [gem_key(0), gem_key(1), gem_key(1)]


def test_every_key_rate_limited_is_googles_429_with_retry_after(proxy, gemini_upstream):
    for i in range(2):
        gemini_upstream.fail(gem_key(i), quota_exceeded("20s"))
    client = genai_client(proxy)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="hi")
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
    assert 15 <= int(caught.value.response.headers["Retry-After"]) <= 20
    resp = requests.post(proxy.url + URL, json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
                         headers={"x-goog-api-key": TOKEN}, timeout=10)
    assert resp.status_code == 429
    assert resp.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert len(gemini_upstream.calls) == 2  # the second request tried no cooling key


def test_a_gemini_error_keeps_its_status(proxy, gemini_upstream):
    client = genai_client(proxy)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model=MODEL, contents="hi", config=types.GenerateContentConfig(candidate_count=9))
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert "candidate_count" in caught.value.message
    assert len(gemini_upstream.calls) == 1  # a request's own fault: no failover


def test_the_models_are_listed_in_geminis_shape(proxy):
    client = genai_client(proxy)
    listed = {m.name: m for m in client.models.list()}
    assert set(listed) == {f"models/{MODEL}", f"models/{EMBED_MODEL}"}
    assert "generateContent" in listed[f"models/{MODEL}"].supported_actions
    assert "embedContent" in listed[f"models/{EMBED_MODEL}"].supported_actions
    assert client.models.get(model=MODEL).display_name == MODEL
    with pytest.raises(errors.ClientError) as caught:
        client.models.get(model="unknown-model")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"


def test_v1_models_answers_each_client_in_its_own_shape(proxy):
    google = requests.get(proxy.url + "/v1/models", headers={"x-goog-api-key": TOKEN}, timeout=10)
    assert google.status_code == 200
    assert {m["name"] for m in google.json()["models"]} == {f"models/{MODEL}",
                                                            f"models/{EMBED_MODEL}"}
    by_key = requests.get(proxy.url + f"/v1/models/{MODEL}", params={"key": TOKEN}, timeout=10)
    assert by_key.json()["supportedGenerationMethods"][0] == "generateContent"
    openai = requests.get(proxy.url + "/v1/models", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=10)
    assert openai.json()["object"] == "list"
    assert {m["id"] for m in openai.json()["data"]} == {MODEL, EMBED_MODEL}
    wrong = requests.get(proxy.url + "/v1/models", headers={"x-goog-api-key": "nope"}, timeout=10)
    assert wrong.status_code == 403 and wrong.json()["error"]["status"] == "PERMISSION_DENIED"
