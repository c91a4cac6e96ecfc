"""MAX_WAIT_SECONDS: a request waits for the first cooling key rather than answering 429."""
from __future__ import annotations

import time

import pytest
import requests

from conftest import HELLO, good_key, key_entry, wait_for
from fake_openai import error


def rate_limited(seconds: int):
    return error(429, "Rate limit reached for requests", "requests", code="rate_limit_exceeded",
                 headers={"retry-after": str(seconds)})


@pytest.fixture
def cooled(make_proxy, openai_upstream):
    """A proxy whose one key has just met a 429 asking for 2 s."""
    def make(**env):
        proxy = make_proxy([key_entry(openai_upstream, 0)], **env)
        openai_upstream.fail(good_key(0), rate_limited(2))
        assert proxy.chat(HELLO).status_code == 429
        return proxy
    return make


def test_a_request_waits_for_the_key_to_recover(cooled, openai_upstream):
    proxy = cooled(MAX_WAIT_SECONDS=6)
    started = time.monotonic()
    resp = proxy.chat(HELLO)
    elapsed = time.monotonic() - started
    assert resp.status_code == 200, resp.text
    assert 1.0 <= elapsed <= 5.0, elapsed
    assert openai_upstream.keys_used() == [good_key(0)] * 2


def test_a_wait_longer_than_allowed_is_answered_at_once(cooled, openai_upstream):
    proxy = cooled(MAX_WAIT_SECONDS=1)
    started = time.monotonic()
    resp = proxy.chat(HELLO)
    assert resp.status_code == 429
    assert time.monotonic() - started < 1.0
    assert len(openai_upstream.calls) == 1


def test_without_max_wait_the_answer_is_429(cooled, openai_upstream):
    proxy = cooled()
    resp = proxy.chat(HELLO)
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 2
    assert len(openai_upstream.calls) == 1


def test_a_client_that_leaves_while_waiting_is_let_go_at_once(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0)], MAX_WAIT_SECONDS=20)
    openai_upstream.fail(good_key(0), rate_limited(6))
    assert proxy.chat(HELLO).status_code == 429
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(proxy.url + "/v1/chat/completions", json=HELLO, timeout=0.5)

    def record():
        records = proxy.admin("GET", "/api/requests").json()["requests"]
        return records[0] if records and records[0]["error"] == "client_closed" else None
    assert wait_for(record, timeout=3.0) is not None
    gone = record()
    assert gone["status"] == 499
    assert gone["latency_ms"] < 2000  # let go when the client left, not after the 6 s wait
    assert gone["attempts"] == []
    time.sleep(6.5)  # past the recovery: the request that left never reached the upstream
    assert len(openai_upstream.calls) == 1


def test_a_fallback_list_waits_for_the_first_model_to_recover(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0),
                        key_entry(openai_upstream, 1, model="gpt-4o-mini")],
                       MAX_WAIT_SECONDS=6)
    openai_upstream.fail(good_key(0), rate_limited(30))
    openai_upstream.fail(good_key(1), rate_limited(2))
    assert proxy.chat({**HELLO, "model": "gpt-4o,gpt-4o-mini"}).status_code == 429
    assert len(openai_upstream.calls) == 2
    started = time.monotonic()
    resp = proxy.chat({**HELLO, "model": "gpt-4o,gpt-4o-mini"})
    elapsed = time.monotonic() - started
    assert resp.status_code == 200 and resp.headers["x-llm-proxy-model"] == "gpt-4o-mini"
    assert 1.0 <= elapsed <= 5.0, elapsed
    assert openai_upstream.keys_used() == [good_key(0), good_key(1), good_key(1)]
