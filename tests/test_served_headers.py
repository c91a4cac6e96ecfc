"""Every served answer names the model and the key that served it (SPEC §10)."""
from __future__ import annotations

from anthropic_common import MODEL, ant_key, anthropic_entry
from conftest import HELLO, good_key, id_of, key_entries, key_entry
from fake_openai import error
from helpers import sse_payloads

HI = [{"role": "user", "content": "hi"}]


def test_answers_name_the_key_that_served_in_rotation_order(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 2))
    served = [proxy.chat(HELLO).headers for _ in range(4)]
    assert [h["x-llm-proxy-key"] for h in served] == [
        id_of(proxy, good_key(i)) for i in (0, 1, 0, 1)]
    assert {h["x-llm-proxy-model"] for h in served} == {"gpt-4o"}
    assert openai_upstream.keys_used() == [good_key(i) for i in (0, 1, 0, 1)]


def test_after_a_failover_the_headers_name_the_key_that_answered(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 2))
    openai_upstream.fail(good_key(0), error(429, "Rate limit reached", "requests",
                                            headers={"Retry-After": "30"}))
    resp = proxy.chat({**HELLO, "stream": True})
    assert resp.status_code == 200
    assert sse_payloads(resp)[-1] == "[DONE]"
    assert resp.headers["x-llm-proxy-key"] == id_of(proxy, good_key(1))
    assert resp.headers["x-llm-proxy-model"] == "gpt-4o"
    assert openai_upstream.keys_used() == [good_key(0), good_key(1)]


def test_other_client_formats_carry_them_too(make_proxy, anthropic_upstream):
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0)])
    raw = proxy.anthropic().messages.with_raw_response.create(
        model=MODEL, max_tokens=16, messages=HI)
    assert raw.headers["x-llm-proxy-key"] == id_of(proxy, ant_key(0))
    assert raw.headers["x-llm-proxy-model"] == MODEL


def test_answers_no_key_served_name_none(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    unknown = proxy.chat({**HELLO, "model": "nope"})
    assert unknown.status_code == 404
    refused = proxy.chat({**HELLO, "messages": "hi"})
    assert refused.status_code == 400
    for resp in (unknown, refused):
        assert "x-llm-proxy-key" not in resp.headers
        assert "x-llm-proxy-model" not in resp.headers
    assert openai_upstream.calls == []
