"""The client API over real HTTP: the official SDK, providers, bad input, PROXY_TOKENS."""
import json

import openai
import pytest
import requests
from conftest import assert_error, good_key, key_entry
from fake_openai import FakeOpenAI

from llm_proxy.pool import Lease
from llm_proxy.providers import adapter_for
from llm_proxy.providers.base import ChatRequest

HELLO = [{"role": "user", "content": "hi"}]
BODY = {"model": "gpt-4o", "messages": HELLO}


@pytest.fixture
def proxy(make_proxy, openai_upstream):
    return make_proxy([key_entry(openai_upstream)])


def assert_chat_error(resp, status, code=None, param=None, type_="invalid_request_error"):
    """The response is OpenAI's error envelope with this status (conftest.assert_error),
    sent as JSON, with a message, this type and, when given, this code and param."""
    error = assert_error(resp, status, param)
    assert resp.headers["Content-Type"].startswith("application/json")
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] == type_
    if code is not None:
        assert error["code"] == code
    return error


# -- the official SDK -----------------------------------------------------------------------

def test_sdk_non_streaming_reply_and_usage(proxy, openai_upstream):
    reply = proxy.openai().chat.completions.create(model="gpt-4o", messages=HELLO,
                                                   temperature=0.2)
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == "Hello from the fake."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.total_tokens == 16
    call = openai_upstream.calls[-1]
    assert call.path == "/v1/chat/completions" and call.body["temperature"] == 0.2


def test_sdk_streaming_text(proxy):
    stream = proxy.openai().chat.completions.create(model="gpt-4o", messages=HELLO,
                                                    stream=True)
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from the fake."
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_sdk_streaming_with_usage_requested(proxy):
    stream = proxy.openai().chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 16


def test_sdk_streaming_without_usage_gets_no_usage_chunk(proxy, openai_upstream):
    chunks = list(proxy.openai().chat.completions.create(model="gpt-4o", messages=HELLO,
                                                         stream=True))
    assert all(c.choices for c in chunks)
    # The proxy asked for usage upstream (for key statistics) and kept it to itself.
    assert openai_upstream.calls[-1].body["stream_options"] == {"include_usage": True}
    stats = proxy.pool.keys()[0].stats
    assert (stats.prompt_tokens, stats.completion_tokens) == (11, 5)


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


def test_sdk_tool_call_round_trip(proxy, openai_upstream):
    client = proxy.openai()
    first = client.chat.completions.create(model="gpt-4o", messages=HELLO, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    second = client.chat.completions.create(model="gpt-4o", messages=[
        *HELLO, first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}], tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: sunny"
    assert openai_upstream.calls[-1].body["messages"][-1]["tool_call_id"] == call.id


def test_sdk_streamed_tool_call(proxy):
    stream = proxy.openai().chat.completions.create(model="gpt-4o", messages=HELLO,
                                                    tools=TOOLS, stream=True)
    name, arguments, finish = "", "", None
    for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or []:
            name += call.function.name or ""
            arguments += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert (name, json.loads(arguments), finish) == ("get_weather", {"city": "Paris"},
                                                     "tool_calls")


def test_sdk_models_list(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream),
                        {"provider": "xai", "model": "grok-4", "api_key": "xai-0123456789ab",
                         "base_url": openai_upstream.base_url}])
    models = proxy.openai().models.list()
    assert [(m.id, m.owned_by, m.object) for m in models.data] == [
        ("gpt-4o", "openai", "model"), ("grok-4", "grok", "model")]
    assert proxy.http.get(proxy.url + "/models").json() == proxy.http.get(
        proxy.base + "/models").json()


def test_both_route_spellings_answer(proxy, openai_upstream):
    for url in (proxy.url + "/chat/completions", proxy.base + "/chat/completions"):
        resp = proxy.http.post(url, json=BODY)
        assert resp.status_code == 200 and resp.json()["object"] == "chat.completion"


def test_sdk_sees_upstream_rejection_as_its_own_error(proxy):
    with pytest.raises(openai.BadRequestError) as info:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=HELLO,
                                               extra_body={"frobnicate": 1})
    assert "Unrecognized request argument supplied: frobnicate" in str(info.value)


# -- what goes upstream ---------------------------------------------------------------------

def test_non_streaming_body_reaches_upstream_byte_for_byte(proxy, openai_upstream):
    raw = (b'{ "messages":[{"role":"user","content":"caf\\u00e9 \xe2\x9c\x93"}],\n'
           b'  "model" : "gpt-4o", "temperature": 1.0, "seed": 7 }')
    resp = proxy.chat(raw, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200
    assert openai_upstream.calls[-1].raw == raw


def test_streaming_body_upstream_is_the_client_body_plus_the_usage_option(proxy,
                                                                        openai_upstream):
    raw = b' {"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"\xc3\xa9"}]}'
    resp = proxy.chat(raw, headers=JSON)
    assert resp.status_code == 200 and resp.text.endswith("data: [DONE]\n\n")
    assert openai_upstream.calls[-1].raw == (
        b' {"stream_options":{"include_usage":true},"model":"gpt-4o","stream":true,'
        b'"messages":[{"role":"user","content":"\xc3\xa9"}]}')


def test_client_turning_usage_off_gets_no_usage_chunk(proxy, openai_upstream):
    chunks = list(proxy.openai().chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True,
        stream_options={"include_usage": False}))
    assert chunks and all(c.choices for c in chunks)
    assert openai_upstream.calls[-1].body["stream_options"] == {"include_usage": True}


def test_client_authorization_and_other_headers_never_reach_upstream(make_proxy,
                                                                     openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream)], PROXY_TOKENS="client-token-123456")
    client = proxy.openai(api_key="client-token-123456",
                          default_headers={"Cookie": "session=abc", "X-Custom": "1"})
    client.chat.completions.create(model="gpt-4o", messages=HELLO)
    list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    for call in openai_upstream.calls:
        assert call.headers["authorization"] == f"Bearer {good_key(0)}"
        assert "client-token-123456" not in json.dumps(call.headers)
        assert "cookie" not in call.headers and "x-custom" not in call.headers


@pytest.mark.parametrize("provider", ["openai", "deepseek", "grok", "xai", "OpenAI-Compatible"])
def test_each_openai_style_provider_calls_base_url_chat_completions(make_proxy, provider):
    fake = FakeOpenAI(valid_keys={good_key(0)}, prefix="/api/x")
    try:
        proxy = make_proxy([{"provider": provider, "model": "m1", "api_key": good_key(0),
                             "base_url": fake.base_url + "/"}])
        reply = proxy.openai().chat.completions.create(model="m1", messages=HELLO)
        assert reply.choices[0].message.content == "Hello from the fake."
        call = fake.calls[-1]
        assert (call.method, call.path) == ("POST", "/api/x/chat/completions")
        assert call.headers["authorization"] == f"Bearer {good_key(0)}"
        assert call.headers["content-type"] == "application/json"
    finally:
        fake.close()


@pytest.mark.parametrize("provider, url", [
    ("openai", "https://api.openai.com/v1/chat/completions"),
    ("deepseek", "https://api.deepseek.com/chat/completions"),  # no /v1 (DeepSeek's docs)
    ("grok", "https://api.x.ai/v1/chat/completions"),
])
def test_default_base_urls(provider, url):
    key = Lease(id="k", generation=0, provider=provider, model="m", api_key="sk-0123456789abcdef")
    chat = ChatRequest(body={"model": "m", "messages": HELLO}, raw=b"{}", model="m",
                       stream=False)
    assert adapter_for(provider).build_request(chat, key).url == url


# -- bad input: every case answers OpenAI's envelope, never 500 -----------------------------

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("raw, code, param", [
    (b"not json", "invalid_json", None),
    (b"", "invalid_json", None),
    (b'{"model": "gpt-4o", "messages": [', "invalid_json", None),
    (b"\xff\xfe{}", "invalid_json", None),
    (b"[1, 2]", "invalid_json", None),
    (b'"a string"', "invalid_json", None),
    (b"null", "invalid_json", None),
    (b"[" * 100000, "invalid_json", None),
    (b'{"a":' * 100000, "invalid_json", None),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', None, "model"),
    (b'{"model": 5, "messages": [{"role": "user", "content": "hi"}]}', None, "model"),
    (b'{"model": "", "messages": [{"role": "user", "content": "hi"}]}', None, "model"),
    (b'{"model": ["gpt-4o"], "messages": []}', None, "model"),
    (b'{"model": "gpt-4o"}', None, "messages"),
    (b'{"model": "gpt-4o", "messages": "hi"}', None, "messages"),
    (b'{"model": "gpt-4o", "messages": []}', None, "messages"),
    (b'{"model": "gpt-4o", "messages": [1]}', None, "messages[0]"),
    (b'{"model": "gpt-4o", "messages": [{"content": "hi"}]}', None, "messages[0].role"),
    (b'{"model": "gpt-4o", "messages": [{"role": 1}]}', None, "messages[0].role"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user"}], "stream": "yes"}', None, "stream"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user"}], "stream": true, '
     b'"stream_options": "usage"}', None, "stream_options"),
])
def test_bad_bodies_answer_400(proxy, openai_upstream, raw, code, param):
    error = assert_chat_error(proxy.chat(raw, headers=JSON), 400, code=code, param=param)
    assert "Traceback" not in error["message"]
    assert openai_upstream.calls == []


def test_deeply_nested_body_leaves_the_server_serving(proxy):
    for _ in range(3):
        assert_chat_error(proxy.chat(b"[" * 100000, headers=JSON), 400, code="invalid_json")
    assert proxy.chat(BODY).status_code == 200


@pytest.mark.parametrize("options", ["", '"stream_options": {"include_usage": false}, '])
def test_nesting_just_within_the_parser_limit_never_gives_500(proxy, options):
    """Regression: a body the parser just accepted failed re-encoding (500) when the proxy
    added the stream usage option."""
    statuses = set()
    for depth in range(880, 1010, 3):
        nested = "[" * depth + "]" * depth
        raw = ('{"model": "gpt-4o", "stream": true, %s"metadata": {"a": %s}, '
               '"messages": [{"role": "user", "content": "hi"}]}' % (options, nested)).encode()
        resp = proxy.chat(raw, headers=JSON)
        statuses.add(resp.status_code)
        assert resp.status_code in (200, 400), (depth, resp.status_code, resp.text[:200])
    assert statuses == {200, 400}


def test_unknown_model_is_404_model_not_found(proxy, openai_upstream):
    resp = proxy.chat({"model": "gpt-5-imaginary", "messages": HELLO})
    error = assert_chat_error(resp, 404, code="model_not_found", param="model")
    assert "gpt-5-imaginary" in error["message"]
    assert_chat_error(proxy.http.get(proxy.base + "/models/gpt-5-imaginary"), 404,
                      code="model_not_found")
    with pytest.raises(openai.NotFoundError):
        proxy.openai().chat.completions.create(model="nope", messages=HELLO)
    assert openai_upstream.calls == []


def test_body_over_the_limit_is_413(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream)], MAX_BODY_BYTES=4096)
    big = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 5000}]}
    assert_chat_error(proxy.chat(big), 413, code="payload_too_large")
    small = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 3000}]}
    assert proxy.chat(small).status_code == 200
    assert len(openai_upstream.calls) == 1


def test_chunked_body_over_the_limit_is_413(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream)], MAX_BODY_BYTES=4096)
    payload = json.dumps({"model": "gpt-4o",
                          "messages": [{"role": "user", "content": "x" * 8000}]}).encode()
    resp = proxy.chat(iter([payload[:3000], payload[3000:]]), headers=JSON)
    assert_chat_error(resp, 413, code="payload_too_large")
    assert openai_upstream.calls == []


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml",
])
def test_wrong_content_type_is_400(proxy, content_type):
    resp = proxy.chat(json.dumps(BODY).encode(), headers={"Content-Type": content_type})
    assert_chat_error(resp, 400, code="invalid_content_type")


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/json; charset=utf-8"},
                                     {"Content-Type": "application/vnd.api+json"}])
def test_json_content_types_and_a_missing_one_are_accepted(proxy, headers):
    req = requests.Request("POST", proxy.base + "/chat/completions", headers=headers,
                           data=json.dumps(BODY).encode()).prepare()
    req.headers.pop("Content-Type", None) if not headers else None
    assert proxy.http.send(req).status_code == 200


def test_wrong_method_and_unknown_route_use_the_envelope(proxy):
    resp = proxy.http.get(proxy.base + "/chat/completions")
    assert_chat_error(resp, 405, code="method_not_allowed")
    assert "POST" in resp.headers["Allow"]
    assert_chat_error(proxy.http.post(proxy.base + "/completion", json=BODY), 404)
    assert_chat_error(proxy.http.delete(proxy.base + "/models"), 405)


# -- PROXY_TOKENS -------------------------------------------------------------------------------

@pytest.fixture
def guarded(make_proxy, openai_upstream):
    return make_proxy([key_entry(openai_upstream)], PROXY_TOKENS="tok-alpha-1234,tok-beta-5678")


@pytest.mark.parametrize("method, path", [("POST", "/v1/chat/completions"),
                                          ("POST", "/chat/completions"),
                                          ("GET", "/v1/models"), ("GET", "/models"),
                                          ("GET", "/v1/models/gpt-4o")])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "tok-alpha-1234",
                                           "Basic dG9rLWFscGhhLTEyMzQ6", "Bearer ",
                                           "Bearer tok-alpha-12345"])
def test_proxy_tokens_guard_chat_and_models(guarded, openai_upstream, method, path,
                                            authorization):
    headers = {"Authorization": authorization} if authorization else {}
    resp = guarded.http.request(method, guarded.url + path, json=BODY, headers=headers)
    assert_chat_error(resp, 401, type_="authentication_error")
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert openai_upstream.calls == []


def test_any_listed_proxy_token_opens_the_routes(guarded):
    for token in ("tok-alpha-1234", "tok-beta-5678"):
        assert guarded.chat(BODY, token=token).status_code == 200
        assert guarded.http.get(guarded.base + "/models",
                                headers={"Authorization": f"Bearer {token}"}).ok
    reply = guarded.openai(api_key="tok-beta-5678").chat.completions.create(
        model="gpt-4o", messages=HELLO)
    assert reply.choices[0].message.content


def test_sdk_with_a_wrong_proxy_token_gets_authentication_error(guarded):
    with pytest.raises(openai.AuthenticationError):
        guarded.openai(api_key="nope").chat.completions.create(model="gpt-4o", messages=HELLO)


def test_cors_preflight_needs_no_proxy_token(guarded):
    resp = guarded.http.options(guarded.base + "/chat/completions", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example")
    assert "authorization" in resp.headers["Access-Control-Allow-Headers"].lower()


def test_routes_are_open_without_proxy_tokens(proxy):
    assert proxy.chat(BODY, token="anything-at-all").status_code == 200
    assert proxy.chat(BODY).status_code == 200


# -- secrets --------------------------------------------------------------------------------

def test_no_secret_in_any_answer_or_log_line(make_proxy, openai_upstream, proxy_logs):
    bad = "sk-bad-SECRET-0123456789abcdef"
    proxy = make_proxy([key_entry(openai_upstream, key=bad), key_entry(openai_upstream, 1)],
                       PROXY_TOKENS="tok-secret-client-99")
    answers = [proxy.chat(BODY, token="tok-secret-client-99") for _ in range(2)]
    answers.append(proxy.chat({**BODY, "stream": True}, token="tok-secret-client-99"))
    answers.append(proxy.chat({**BODY, "model": "nope"}, token="tok-secret-client-99"))
    answers.append(proxy.chat(b"{", token="tok-secret-client-99", headers=JSON))
    answers.append(proxy.http.get(proxy.base + "/models",
                                  headers={"Authorization": "Bearer tok-secret-client-99"}))
    answers.append(proxy.http.get(proxy.url + "/healthz"))
    assert all(a.status_code < 500 for a in answers)
    seen = "\n".join([a.text + json.dumps(dict(a.headers)) for a in answers] + proxy_logs)
    for secret in (bad, good_key(1), "tok-secret-client-99", "SECRET-0123456789"):
        assert secret not in seen
    assert any("request model=gpt-4o" in line for line in proxy_logs)


# -- no usable key, and no input that makes a 500 ------------------------------------------------

def test_every_key_disabled_or_invalid_is_503_no_usable_key(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0),
                        key_entry(openai_upstream, key="sk-revoked-0123456789abcdef")])
    ids = {k.api_key: k.id for k in proxy.pool.keys()}
    assert proxy.chat(BODY).status_code == 200
    # The revoked key answers 401 and is marked invalid; the good one is then disabled.
    proxy.chat(BODY)
    assert proxy.admin("PATCH", f"/api/keys/{ids[good_key(0)]}",
                       {"enabled": False}).status_code == 200
    resp = proxy.chat(BODY)
    assert_chat_error(resp, 503, code="no_usable_key", type_="server_error")
    assert "sk-revoked" not in resp.text


@pytest.mark.parametrize("body", [
    {"model": "gpt-4o", "messages": HELLO, "stream": None},
    {"model": "gpt-4o", "messages": HELLO, "stream": True, "stream_options": None},
    {"model": "gpt-4o", "messages": HELLO, "stream": True,
     "stream_options": {"include_usage": "yes"}},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": {"nested": [1, {"a": None}]}}]},
    {"model": "gpt-4o", "messages": [{"role": "wizard", "content": "hi"}]},
    {"model": "gpt-4o", "messages": HELLO, "temperature": "hot", "n": -1, "stop": {}},
    {"model": "gpt-4o\u0000\ud800", "messages": HELLO},
    {"model": "x" * 100000, "messages": HELLO},
    {"model": "gpt-4o", "messages": HELLO, "model\u0000": 1, "": ""},
])
def test_odd_bodies_never_give_a_server_error(proxy, body):
    resp = proxy.chat(body)
    assert resp.status_code < 500, resp.text
    if resp.status_code != 200:
        assert set(resp.json()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("raw", [
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], '
    b'"temperature": NaN}',
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "seed": 1e999}',
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\\ud800"}], '
    b'"stream": true}',
    b'\xef\xbb\xbf{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], '
    b'"stream": true}',
    '{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": true}'
    .encode("utf-16"),
])
def test_odd_json_never_gives_a_server_error(proxy, raw):
    resp = proxy.chat(raw, headers=JSON)
    assert resp.status_code < 500, resp.text
