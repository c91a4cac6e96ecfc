"""Anthropic upstream errors: failover to the next key, cooldowns, error envelopes, key checks."""
from __future__ import annotations

import json
import time

import openai
import pytest
from anthropic_common import MODEL, ant_key, anthropic_entry
from fake_anthropic import error, stream_events
from fake_upstream import Reply, Stream, sse


@pytest.fixture
def proxy(make_proxy, anthropic_upstream):
    return make_proxy([anthropic_entry(anthropic_upstream, 0)])


# -- upstream errors ------------------------------------------------------------------------


def test_upstream_400_keeps_anthropic_message_in_openai_envelope(proxy, anthropic_upstream):
    anthropic_upstream.fail(ant_key(0), error(400, "invalid_request_error",
                                              "messages.0.content: prompt is too long"))
    with pytest.raises(openai.BadRequestError) as caught:
        proxy.openai().chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    err = caught.value.body
    assert err["message"] == "messages.0.content: prompt is too long"
    assert err["type"] == "invalid_request_error"
    assert len(anthropic_upstream.calls) == 1  # a bad request is not retried on other keys


def test_invalid_key_fails_over_and_is_marked_invalid(make_proxy, anthropic_upstream):
    bad = "sk-ant-api03-revoked-0123456789abcdefghij"
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0, key=bad),
                        anthropic_entry(anthropic_upstream, 1)])
    reply = proxy.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content == "Hello from Claude."
    keys = proxy.admin("GET", "/api/keys").json()["keys"]
    assert [k["status"] for k in keys] == ["invalid", "active"]
    assert bad not in json.dumps(keys)


def test_every_key_invalid_answers_401_without_the_key(make_proxy, anthropic_upstream):
    bad = "sk-ant-api03-revoked-0123456789abcdefghij"
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0, key=bad)])
    resp = proxy.chat({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "invalid x-api-key"
    assert bad not in resp.text and bad[8:20] not in resp.text


def test_rate_limit_uses_retry_after_and_fails_over(make_proxy, anthropic_upstream):
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0),
                        anthropic_entry(anthropic_upstream, 1)])
    anthropic_upstream.fail(ant_key(0), error(429, "rate_limit_error", "Number of request "
                                              "tokens has exceeded your per-minute rate limit",
                                              {"retry-after": "30"}))
    reply = proxy.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content == "Hello from Claude."
    first = proxy.admin("GET", "/api/keys").json()["keys"][0]
    assert first["status"] == "cooling_down"
    assert 25 < first["cooldown_until"] - time.time() <= 31


def test_rate_limit_reset_header_sets_the_retry_after_of_the_answer(make_proxy,
                                                                    anthropic_upstream):
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0)])
    reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 42))
    anthropic_upstream.fail(ant_key(0), error(429, "rate_limit_error", "Rate limited",
                                              {"anthropic-ratelimit-requests-reset": reset}))
    resp = proxy.chat({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
    assert resp.status_code == 429
    assert resp.json()["error"]["type"] == "rate_limit_error"
    assert 38 <= int(resp.headers["Retry-After"]) <= 43


@pytest.mark.parametrize("status,kind", [(529, "overloaded_error"), (500, "api_error")])
def test_server_errors_fail_over(make_proxy, anthropic_upstream, status, kind):
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0),
                        anthropic_entry(anthropic_upstream, 1)])
    anthropic_upstream.fail(ant_key(0), error(status, kind, "Overloaded"))
    reply = proxy.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content == "Hello from Claude."
    assert anthropic_upstream.keys_used("/v1/messages") == [ant_key(0), ant_key(1)]


def test_last_server_error_keeps_upstream_status(proxy, anthropic_upstream):
    anthropic_upstream.fail(ant_key(0), error(529, "overloaded_error", "Overloaded"))
    resp = proxy.chat({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
    assert resp.status_code == 529
    assert resp.json()["error"] == {"message": "Overloaded", "type": "server_error",
                                    "param": None, "code": "overloaded"}


def test_non_json_upstream_error_still_answers_an_envelope(proxy, anthropic_upstream):
    anthropic_upstream.fail(ant_key(0), Reply(502, "<html>Bad gateway</html>",
                                              {"Content-Type": "text/html"}))
    resp = proxy.chat({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
    assert resp.status_code == 502
    assert resp.json()["error"]["message"] == "Upstream answered HTTP 502."


def test_key_check_uses_the_models_endpoint(proxy, anthropic_upstream):
    key_id = proxy.admin("GET", "/api/keys").json()["keys"][0]["id"]
    resp = proxy.admin("POST", f"/api/keys/{key_id}/test")
    assert resp.status_code == 200 and resp.json()["ok"] is True
    call = anthropic_upstream.calls[-1]
    assert (call.method, call.path) == ("GET", "/v1/models")
    assert call.headers["x-api-key"] == ant_key(0)
    assert call.headers["anthropic-version"] == "2023-06-01"


# -- streams that fail before any content -----------------------------------------------------


def test_stream_error_before_any_event_fails_over(make_proxy, anthropic_upstream):
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0),
                        anthropic_entry(anthropic_upstream, 1)])
    anthropic_upstream.fail(ant_key(0), Stream([sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        "error")]))
    stream = proxy.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from Claude."
    assert anthropic_upstream.keys_used("/v1/messages") == [ant_key(0), ant_key(1)]


def test_overloaded_right_after_message_start_fails_over(make_proxy, anthropic_upstream):
    # Anthropic documents overloaded errors arriving as events once the stream has begun.
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0),
                        anthropic_entry(anthropic_upstream, 1)])
    start = stream_events([{"type": "text", "text": "x"}])[0]
    assert b"message_start" in start
    anthropic_upstream.fail(ant_key(0), Stream([start, sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        "error")]))
    stream = proxy.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True)
    chunks = [c for c in stream if c.choices]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from Claude."
    assert anthropic_upstream.keys_used("/v1/messages") == [ant_key(0), ant_key(1)]
    first = next(k for k in proxy.admin("GET", "/api/keys").json()["keys"]
                 if k["id"] == proxy.pool.keys()[0].id)
    assert first["status"] == "cooling_down" and first["stats"]["last_error"] == "Overloaded"
