"""Gemini upstream errors: failover to the next key, cooldowns, Google's messages, key checks."""
from __future__ import annotations

import time

import pytest
from fake_gemini import bad_key, google_error, invalid, quota_exceeded, sse_event
from fake_upstream import Reply, Stream
from gemini_common import HI, MODEL, PATH, gem_key, gemini_entry


@pytest.fixture
def proxy(make_proxy, gemini_upstream):
    return make_proxy([gemini_entry(gemini_upstream, 0)])


# -- upstream errors and failover --------------------------------------------------------


def test_bad_key_is_a_key_failure_and_fails_over(make_proxy, gemini_upstream):
    wrong = "AIzaSyWrongKey-0123456789abcdefghijklm"
    proxy = make_proxy([gemini_entry(gemini_upstream, 0, key=wrong),
                        gemini_entry(gemini_upstream, 1)])
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI)
    assert reply.choices[0].message.content == "Hello from Gemini."
    assert gemini_upstream.keys_used() == [wrong, gem_key(1)]
    statuses = {k["api_key"][-4:]: k["status"] for k in proxy.pool.public_keys()}
    assert statuses == {wrong[-4:]: "invalid", gem_key(1)[-4:]: "active"}


def test_only_bad_key_answers_googles_message_without_the_key(make_proxy, gemini_upstream):
    wrong = "AIzaSyWrongKey-0123456789abcdefghijklm"
    proxy = make_proxy([gemini_entry(gemini_upstream, 0, key=wrong)])
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
    proxy = make_proxy([gemini_entry(gemini_upstream, 0), gemini_entry(gemini_upstream, 1)])
    gemini_upstream.fail(gem_key(0), quota_exceeded("13s"))
    before = time.time()
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI)
    assert reply.choices[0].message.content == "Hello from Gemini."
    limited = next(k for k in proxy.pool.public_keys() if k["status"] == "cooling_down")
    assert limited["api_key"].endswith(gem_key(0)[-4:])
    assert before + 12 <= limited["cooldown_until"] <= time.time() + 14


def test_all_keys_rate_limited_answers_429_with_retry_after(make_proxy, gemini_upstream):
    proxy = make_proxy([gemini_entry(gemini_upstream, 0)])
    gemini_upstream.fail(gem_key(0), quota_exceeded("7.5s"))
    resp = proxy.chat({"model": MODEL, "messages": HI})
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "8"
    assert resp.json()["error"]["type"] == "rate_limit_error"
    assert "quota" in resp.json()["error"]["message"]


def test_request_error_is_returned_with_googles_message_and_not_retried(make_proxy,
                                                                        gemini_upstream):
    proxy = make_proxy([gemini_entry(gemini_upstream, 0), gemini_entry(gemini_upstream, 1)])
    gemini_upstream.script(invalid("* GenerateContentRequest.contents[0].parts[0].inline_data: "
                                   "Unsupported MIME type: image/x-foo"))
    resp = proxy.chat({"model": MODEL, "messages": HI})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert "Unsupported MIME type" in error["message"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_argument")
    assert len(gemini_upstream.calls) == 1


def test_overloaded_upstream_fails_over(make_proxy, gemini_upstream):
    proxy = make_proxy([gemini_entry(gemini_upstream, 0), gemini_entry(gemini_upstream, 1)])
    gemini_upstream.fail(gem_key(0), google_error(503, "UNAVAILABLE",
                                                  "The model is overloaded. Please try again "
                                                  "later."))
    reply = proxy.openai().chat.completions.create(model=MODEL, messages=HI)
    assert reply.choices[0].message.content == "Hello from Gemini."
    assert gemini_upstream.keys_used() == [gem_key(0), gem_key(1)]


def test_error_as_first_stream_event_fails_over(make_proxy, gemini_upstream):
    proxy = make_proxy([gemini_entry(gemini_upstream, 0), gemini_entry(gemini_upstream, 1)])
    gemini_upstream.fail(gem_key(0), Stream([sse_event(
        {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})]))
    stream = proxy.openai().chat.completions.create(model=MODEL, messages=HI, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "Hello from Gemini."
    assert gemini_upstream.keys_used() == [gem_key(0), gem_key(1)]


def test_non_json_success_body_is_a_502(proxy, gemini_upstream):
    gemini_upstream.script(Reply(200, "<html>oops</html>"))
    resp = proxy.chat({"model": MODEL, "messages": HI})
    assert resp.status_code == 502
    assert resp.json()["error"]["type"]


# -- key checks ---------------------------------------------------------------------------


def test_key_test_uses_models_list_with_the_header(make_proxy, gemini_upstream):
    wrong = "AIzaSyWrongKey-0123456789abcdefghijklm"
    proxy = make_proxy([gemini_entry(gemini_upstream, 0),
                        gemini_entry(gemini_upstream, 1, key=wrong)])
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
