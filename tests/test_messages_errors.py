"""Errors of the Messages routes: Anthropic's envelope, and the SDK's exception classes.

Every error is {"type": "error", "error": {"type", "message"}} with the status the
anthropic SDK maps to its exceptions; no input makes the proxy answer 500.
"""
from __future__ import annotations

import json

import anthropic
import pytest
import requests
from fake_anthropic import FakeAnthropic
from fake_anthropic import error as anthropic_error
from fake_gemini import FakeGemini, quota_exceeded
from fake_openai import FakeOpenAI
from fake_openai import error as openai_error

ANT = [f"sk-ant-api03-errs{i}-0123456789abcdefghij" for i in range(2)]
OPENAI = [f"sk-good-{i}-0123456789abcdef" for i in range(2)]
GEMINI = [f"AIzaSyErrs{i}-0123456789abcdefghijklmn" for i in range(2)]
TOKEN = "client-token-0123456789"
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def fakes():
    out = (FakeAnthropic(valid_keys=set(ANT)), FakeOpenAI(valid_keys=set(OPENAI)),
           FakeGemini(valid_keys=set(GEMINI)))
    yield out
    for fake in out:
        fake.close()


@pytest.fixture
def proxy(make_proxy, fakes):
    ant, oai, gem = fakes
    return make_proxy(
        [{"provider": "anthropic", "model": "claude-test", "api_key": k, "base_url": ant.url}
         for k in ANT] +
        [{"provider": "openai", "model": "gpt-4o", "api_key": k, "base_url": oai.base_url}
         for k in OPENAI] +
        [{"provider": "gemini", "model": "gemini-2.5-flash", "api_key": k, "base_url": gem.url}
         for k in GEMINI], PROXY_TOKENS=TOKEN, KEY_COOLDOWN_SECONDS=30)


def _envelope(resp) -> dict:
    body = resp.json()
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    assert resp.headers["Content-Type"].startswith("application/json")
    return body["error"]


# -- the proxy token ----------------------------------------------------------------------


def test_the_proxy_token_as_api_key_or_auth_token(proxy):
    for client in (proxy.anthropic(api_key=TOKEN),
                   proxy.anthropic(api_key=None, auth_token=TOKEN)):
        message = client.messages.create(model="claude-test", max_tokens=16, messages=HI)
        assert message.content[0].text == "Hello from Claude."


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"},
                                     {"Authorization": "Bearer wrong"}])
def test_a_missing_or_wrong_token_is_401(proxy, fakes, headers):
    resp = proxy.messages({"model": "claude-test", "max_tokens": 16, "messages": HI},
                          headers=headers)
    assert resp.status_code == 401
    assert _envelope(resp)["type"] == "authentication_error"
    assert not any(f.calls for f in fakes)


def test_the_sdk_raises_authentication_error(proxy):
    with pytest.raises(anthropic.AuthenticationError):
        proxy.anthropic(api_key="wrong").messages.create(model="claude-test", max_tokens=16,
                                                         messages=HI)


def test_the_clients_token_never_goes_upstream(proxy, fakes):
    proxy.anthropic(api_key=TOKEN).messages.create(model="gpt-4o", max_tokens=16, messages=HI)
    proxy.anthropic(api_key=TOKEN).messages.create(model="claude-test", max_tokens=16,
                                                   messages=HI)
    for fake in fakes[:2]:
        assert all(TOKEN not in str(call.headers) for call in fake.calls)


# -- the proxy's own errors -------------------------------------------------------------


def test_an_unknown_model_is_not_found(proxy):
    with pytest.raises(anthropic.NotFoundError) as caught:
        proxy.anthropic(api_key=TOKEN).messages.create(model="nope", max_tokens=16,
                                                       messages=HI)
    assert caught.value.body["error"]["type"] == "not_found_error"
    assert "nope" in caught.value.body["error"]["message"]


@pytest.mark.parametrize("body,named", [
    (b"{not json", "JSON"),
    (b"[1, 2]", "object"),
    ({"max_tokens": 16, "messages": HI}, "model"),
    ({"model": 3, "max_tokens": 16, "messages": HI}, "model"),
    ({"model": "gpt-4o", "messages": HI}, "max_tokens"),
    ({"model": "gpt-4o", "max_tokens": 0, "messages": HI}, "max_tokens"),
    ({"model": "gpt-4o", "max_tokens": True, "messages": HI}, "max_tokens"),
    ({"model": "gpt-4o", "max_tokens": 16, "messages": []}, "messages"),
    ({"model": "gpt-4o", "max_tokens": 16, "messages": ["hi"]}, "messages.0"),
    ({"model": "gpt-4o", "max_tokens": 16, "messages": HI, "stream": "yes"}, "stream"),
])
def test_bad_bodies_are_400_naming_the_problem(proxy, body, named):
    resp = proxy.messages(body, headers={"x-api-key": TOKEN,
                                         "content-type": "application/json"})
    assert resp.status_code == 400
    err = _envelope(resp)
    assert err["type"] == "invalid_request_error" and named in err["message"]


@pytest.mark.parametrize("model", ["claude-test", "gpt-4o", "gemini-2.5-flash"])
@pytest.mark.parametrize("field,value", [
    ("messages", [{"role": "user", "content": 5}]),
    ("messages", [{"role": "user", "content": [{"type": "image"}]}]),
    ("messages", [{"role": "user", "content": [{"type": "tool_result"}]}]),
    ("messages", [{"role": "user", "content": [None]}]),
    ("messages", [{"role": "robot", "content": "hi"}]),
    ("messages", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "t1", "name": "f", "input": "not an object"}]}]),
    ("system", [{"type": "image"}]),
    ("tools", {"name": "f"}),
    ("tools", [{"name": "f", "input_schema": {"type": "string"}}]),
    ("tools", ["f"]),
    ("tool_choice", {"type": "sometimes"}),
    ("tool_choice", "auto"),
    ("thinking", {"type": "maybe"}),
    ("output_config", {"effort": "extreme"}),
    ("output_config", {"format": {"type": "json_schema"}}),
    ("stop_sequences", "END"),
    ("temperature", "hot"),
    ("top_k", "many"),
    ("max_tokens", "lots"),
])
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_no_bad_input_gets_a_500(proxy, fakes, model, field, value, path):
    body = {"model": model, "messages": HI, field: value}
    if path == "/v1/messages":
        body = {"max_tokens": 16, **body}
    resp = proxy.messages(body, path=path, headers={"x-api-key": TOKEN})
    assert 400 <= resp.status_code < 500, resp.text
    assert _envelope(resp)["type"] == "invalid_request_error"


@pytest.mark.parametrize("model", ["gpt-4o", "gemini-2.5-flash"])
def test_text_with_a_lone_surrogate_is_carried_escaped(proxy, fakes, model):
    raw = (b'{"model": "%s", "max_tokens": 16, "messages": [{"role": "user", '
           b'"content": "half \\ud800 a pair"}]}' % model.encode())
    resp = proxy.messages(raw, headers={"x-api-key": TOKEN, "content-type": "application/json"})
    assert resp.status_code == 200, resp.text
    body = fakes[1 if model == "gpt-4o" else 2].calls[-1].body
    assert "half \ud800 a pair" in json.dumps(body, ensure_ascii=False)


def test_a_body_over_the_limit_is_413(make_proxy, fakes):
    proxy = make_proxy([{"provider": "anthropic", "model": "claude-test", "api_key": ANT[0],
                         "base_url": fakes[0].url}], MAX_BODY_BYTES=4096)
    with pytest.raises(anthropic.APIStatusError) as caught:
        proxy.anthropic().messages.create(model="claude-test", max_tokens=16, messages=[
            {"role": "user", "content": "x" * 8192}])
    assert caught.value.status_code == 413
    assert caught.value.body["error"]["type"] == "request_too_large"


def test_every_key_cooling_is_429_with_retry_after(proxy, fakes):
    ant = fakes[0]
    for key in ANT:
        ant.fail(key, anthropic_error(429, "rate_limit_error", "Rate limited",
                                      {"retry-after": "20"}))
    client = proxy.anthropic(api_key=TOKEN)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model="claude-test", max_tokens=16, messages=HI)
    with pytest.raises(anthropic.RateLimitError) as caught:  # no call: every key cools
        client.messages.create(model="claude-test", max_tokens=16, messages=HI)
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 20
    assert len(ant.calls) == 2


def test_overloaded_on_every_key_is_the_sdks_overloaded_error(proxy, fakes):
    for key in ANT:
        fakes[0].fail(key, anthropic_error(529, "overloaded_error", "Overloaded"))
    with pytest.raises(anthropic.OverloadedError) as caught:
        proxy.anthropic(api_key=TOKEN).messages.create(model="claude-test", max_tokens=16,
                                                       messages=HI)
    assert caught.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def test_a_server_error_on_every_key_is_internal_server_error(proxy, fakes):
    for key in OPENAI:
        fakes[1].fail(key, openai_error(500, "The server had an error.", type_="server_error"))
    with pytest.raises(anthropic.InternalServerError) as caught:
        proxy.anthropic(api_key=TOKEN).messages.create(model="gpt-4o", max_tokens=16,
                                                       messages=HI)
    assert caught.value.body["error"]["type"] == "api_error"


def test_openai_rate_limits_fail_over_then_answer_in_anthropics_envelope(proxy, fakes):
    oai = fakes[1]
    oai.fail(OPENAI[0], openai_error(429, "Rate limit reached for gpt-4o.",
                                     type_="requests", headers={"retry-after": "7"}))
    message = proxy.anthropic(api_key=TOKEN).messages.create(model="gpt-4o", max_tokens=16,
                                                             messages=HI)
    assert message.content[0].text == "Hello from the fake."
    assert oai.keys_used() == OPENAI
    oai.fail(OPENAI[0], openai_error(429, "Rate limit reached.", headers={"retry-after": "7"}))
    oai.fail(OPENAI[1], openai_error(429, "Rate limit reached.", headers={"retry-after": "7"}))
    with pytest.raises(anthropic.RateLimitError):
        proxy.anthropic(api_key=TOKEN).messages.create(model="gpt-4o", max_tokens=16,
                                                       messages=HI)


def test_a_bad_gemini_key_fails_over_and_is_marked_invalid(proxy, fakes):
    gem = fakes[2]
    gem.valid_keys.discard(GEMINI[0])
    message = proxy.anthropic(api_key=TOKEN).messages.create(model="gemini-2.5-flash",
                                                             max_tokens=16, messages=HI)
    assert message.content[0].text == "Hello from Gemini."
    keys = {k["id"]: k for k in proxy.admin("GET", "/api/keys").json()["keys"]}
    assert [k["status"] for k in keys.values() if k["provider"] == "gemini"] == \
        ["invalid", "active"]


def test_gemini_quota_errors_are_rate_limit_errors(proxy, fakes):
    for key in GEMINI:
        fakes[2].fail(key, quota_exceeded("9s"))
    with pytest.raises(anthropic.RateLimitError):
        proxy.anthropic(api_key=TOKEN).messages.create(model="gemini-2.5-flash",
                                                       max_tokens=16, messages=HI)


def test_an_upstream_request_error_is_the_clients_400_with_the_upstreams_message(proxy, fakes):
    fakes[1].fail(OPENAI[0], openai_error(400, "Invalid 'messages[1].content': too long.",
                                          param="messages"))
    with pytest.raises(anthropic.BadRequestError) as caught:
        proxy.anthropic(api_key=TOKEN).messages.create(model="gpt-4o", max_tokens=16,
                                                       messages=HI)
    assert caught.value.body["error"]["message"] == "Invalid 'messages[1].content': too long."
    assert len(fakes[1].calls) == 1


def test_other_methods_and_paths_answer_in_an_envelope(proxy):
    resp = requests.get(proxy.url + "/v1/messages", headers={"x-api-key": TOKEN}, timeout=10)
    assert resp.status_code == 405 and resp.headers["Allow"] == "POST"
    assert _envelope(resp)["type"] == "invalid_request_error"
    resp = proxy.messages({}, path="/v1/messages/batches", headers={"x-api-key": TOKEN})
    assert resp.status_code == 404 and _envelope(resp)["type"] == "not_found_error"
    resp = requests.options(proxy.url + "/v1/messages", timeout=10, headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, anthropic-version, content-type"})
    assert resp.status_code == 200
    allowed = resp.headers["Access-Control-Allow-Headers"].lower()
    assert "x-api-key" in allowed and "anthropic-version" in allowed
