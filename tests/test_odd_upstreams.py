"""Upstreams that misbehave the way real servers, routers and middleboxes do."""
from __future__ import annotations

import gzip
import json

import openai
import pytest
import requests

from conftest import good_key, key_entries, key_entry, sse_data, status_of
from fake_anthropic import FakeAnthropic, stream_events
from fake_openai import error
from fake_upstream import Reply, Stream, sse

HI = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def chunk(content=None, finish=None, **extra) -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"content": content} if content else {},
                         "finish_reason": finish}], **extra}


def test_event_spread_over_several_data_lines_reaches_the_sdk_whole(make_proxy,
                                                                     openai_upstream):
    # WHATWG SSE: one event, two data: lines, joined with a newline.
    first, second = json.dumps(chunk("hi")).split('"choices"')
    event = f'data: {first}\ndata: "choices"{second}\n\n'
    openai_upstream.fail(good_key(0), Stream([event, sse(chunk(finish="stop")),
                                              "data: [DONE]\n\n"]))
    proxy = make_proxy(key_entries(openai_upstream, 1))
    stream = proxy.openai().chat.completions.create(**HI, stream=True)
    assert [c.choices[0].delta.content for c in stream if c.choices] == ["hi", None]


@pytest.mark.parametrize("error_chunk", [
    # OpenRouter's documented mid-stream error: an error member and finish_reason "error".
    chunk(finish="error", error={"code": "server_error",
                                 "message": "Provider disconnected unexpectedly"}),
    # An error object written with a space after the brace.
    '{ "error": {"message": "Provider disconnected unexpectedly"}}',
])
def test_error_in_place_of_the_first_chunk_moves_to_the_next_key(make_proxy, openai_upstream,
                                                                  error_chunk):
    openai_upstream.fail(good_key(0), Stream([": OPENROUTER PROCESSING\n\n", sse(error_chunk),
                                              "data: [DONE]\n\n"]))
    proxy = make_proxy(key_entries(openai_upstream, 2))
    stream = proxy.openai().chat.completions.create(**HI, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == \
        "Hello from the fake."
    assert openai_upstream.keys_used() == [good_key(0), good_key(1)]
    failed = status_of(proxy, 0)["stats"]
    assert failed["successes"] == 0 and failed["failures"] == 1
    assert failed["last_error"] == "Provider disconnected unexpectedly"


def test_gzip_encoded_stream_is_decoded(make_proxy, openai_upstream):
    body = gzip.compress((sse(chunk("hi")) + sse(chunk(finish="stop")) + b"data: [DONE]\n\n"))
    openai_upstream.fail(good_key(0), Stream([body], headers={"Content-Encoding": "gzip"}))
    proxy = make_proxy(key_entries(openai_upstream, 1))
    stream = proxy.openai().chat.completions.create(**HI, stream=True)
    assert [c.choices[0].delta.content for c in stream if c.choices] == ["hi", None]


def test_retry_after_date_with_an_absurd_zone_still_cools_and_fails_over(make_proxy,
                                                                        openai_upstream):
    openai_upstream.fail(good_key(0), error(429, "slow down", headers={
        "Retry-After": "Wed, 21 Oct 2015 07:28:00 +99999999999999"}))
    proxy = make_proxy(key_entries(openai_upstream, 2), KEY_COOLDOWN_SECONDS=30)
    assert proxy.chat(HI).status_code == 200
    assert openai_upstream.keys_used() == [good_key(0), good_key(1)]
    assert status_of(proxy, 0)["status"] == "cooling_down"


@pytest.mark.parametrize("echo", [
    "Ab3%2BdE5%2FfG7h%3DIj9Kl0Mn2",   # URL-encoded
    "Ab3+dE5/fG7h=Ij9Kl0M***",        # all but the last characters
])
def test_a_key_echoed_in_another_form_is_masked(make_proxy, openai_upstream, echo):
    secret = "Ab3+dE5/fG7h=Ij9Kl0Mn2"
    openai_upstream.valid_keys.add(secret)
    openai_upstream.fail(secret, error(401, f"Incorrect API key provided: {echo}.",
                                       code="invalid_api_key"))
    proxy = make_proxy([key_entry(openai_upstream, key=secret)])
    resp = proxy.chat(HI)
    assert resp.status_code == 401
    listing = proxy.admin("GET", "/api/keys").text
    for text in (resp.text, listing):
        assert echo not in text and "dE5/fG7h" not in text and "dE5%2FfG7h" not in text
    assert "Incorrect API key provided: Ab3" in resp.json()["error"]["message"]


def test_a_key_pointing_back_at_the_proxy_is_refused_at_once(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 1), UPSTREAM_TIMEOUT=30)
    added = proxy.admin("POST", "/api/keys", {"provider": "openai-compatible", "model": "loop",
                                              "api_key": "sk-loop-0123456789",
                                              "base_url": proxy.url + "/v1"})
    assert added.status_code == 201
    resp = proxy.chat({**HI, "model": "loop"}, timeout=10)
    assert resp.status_code == 508
    err = resp.json()["error"]
    assert err["code"] == "loop_detected" and "base_url" in err["message"]
    assert "sk-loop-0123456789" not in resp.text
    # One request in, one back out: no pile of requests calling each other. The key is
    # useless until its base_url is fixed, so it is marked invalid, not cooled down (which
    # would answer later requests with a misleading rate limit).
    loop_key = next(k for k in proxy.admin("GET", "/api/keys").json()["keys"]
                    if k["model"] == "loop")
    assert loop_key["stats"]["requests"] == 1
    assert loop_key["status"] == "invalid" and "base_url" in loop_key["stats"]["last_error"]
    again = proxy.chat({**HI, "model": "loop"}, timeout=10)
    assert again.status_code == 503 and again.json()["error"]["code"] == "no_usable_key"
    check = proxy.admin("POST", f"/api/keys/{loop_key['id']}/test")
    assert check.json()["ok"] is False and check.json()["invalid"] is True
    assert proxy.chat(HI).status_code == 200


# -- Anthropic ---------------------------------------------------------------------------------

ANT_MODEL = "claude-test"


def ant_key(i):
    return f"sk-ant-api03-odd{i}-0123456789abcdefghij"


@pytest.fixture
def anthropic_pair(make_proxy):
    fake = FakeAnthropic(valid_keys={ant_key(0), ant_key(1)})
    proxy = make_proxy([{"provider": "anthropic", "model": ANT_MODEL, "api_key": ant_key(i),
                         "base_url": fake.url} for i in range(2)])
    yield proxy, fake
    fake.close()


def _ant_text(resp, stream: bool) -> str:
    if not stream:
        return resp.json()["choices"][0]["message"]["content"]
    payloads = sse_data(resp)
    assert payloads[-1] == b"[DONE]"
    return "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in map(json.loads, payloads[:-1]) if c["choices"])


@pytest.mark.parametrize("answer", [
    Reply(529, {"type": "error", "error": {"type": ["overloaded_error"],
                                           "message": "Overloaded"}}),
    Stream([sse({"type": "error", "error": {"type": {"x": 1}, "message": "Overloaded"}},
                "error")]),
], ids=["error-type-list", "stream-error-type-object"])
def test_malformed_anthropic_answers_move_to_the_next_key(anthropic_pair, answer):
    proxy, fake = anthropic_pair
    fake.fail(ant_key(0), answer)
    stream = isinstance(answer, Stream)
    resp = proxy.chat({"model": ANT_MODEL, "messages": [{"role": "user", "content": "hi"}],
                       "stream": stream}, stream=stream)
    assert resp.status_code == 200, resp.text
    assert _ant_text(resp, stream) == "Hello from Claude."
    assert fake.keys_used("/v1/messages") == [ant_key(0), ant_key(1)]


def test_anthropic_stream_fields_of_the_wrong_type_are_read_leniently(anthropic_pair):
    proxy, fake = anthropic_pair
    events = [e.replace(b'"stop_reason": "end_turn"', b'"stop_reason": ["end_turn"]')
              .replace(b'"index": 0', b'"index": [0]') for e in
              stream_events([{"type": "text", "text": "Hello"}])]
    assert any(b'["end_turn"]' in e for e in events)
    fake.fail(ant_key(0), Stream(events))
    resp = proxy.chat({"model": ANT_MODEL, "messages": [{"role": "user", "content": "hi"}],
                       "stream": True}, stream=True)
    assert _ant_text(resp, True) == "Hello"
    assert fake.keys_used("/v1/messages") == [ant_key(0)]


def test_a_garbled_anthropic_event_ends_the_stream_with_an_error(anthropic_pair):
    proxy, fake = anthropic_pair
    events = stream_events([{"type": "text", "text": "Hello brave new world"}], pieces=3)
    deltas = [i for i, e in enumerate(events) if b"text_delta" in e]
    events[deltas[1]] = b'event: content_block_delta\ndata: {"type": "content_block_del\n\n'
    fake.fail(ant_key(0), Stream(events))
    resp = proxy.chat({"model": ANT_MODEL, "messages": [{"role": "user", "content": "hi"}],
                       "stream": True}, stream=True)
    payloads = sse_data(resp)
    assert b"[DONE]" not in payloads
    assert json.loads(payloads[-1])["error"]["code"] == "stream_broken"


def test_server_keeps_serving_after_every_odd_answer(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 1))
    assert requests.get(proxy.url + "/healthz", timeout=5).status_code == 200
    assert isinstance(proxy.openai().chat.completions.create(**HI),
                      openai.types.chat.ChatCompletion)
