"""Ordered fallbacks (SPEC §10): a comma-separated model, or a MODEL_FALLBACKS alias."""
from __future__ import annotations

import json

import pytest

from anthropic_common import ant_key
from conftest import HELLO, good_key, id_of, key_entry, sse_payloads
from fake_anthropic import error as ant_error
from fake_openai import error

from llm_proxy.config import Config, ConfigError

CLAUDE = "claude-sonnet-4-5"


def pool(openai_upstream, anthropic_upstream, openai_keys=1) -> list:
    return [*(key_entry(openai_upstream, i) for i in range(openai_keys)),
            {"provider": "anthropic", "model": CLAUDE, "api_key": ant_key(0),
             "base_url": anthropic_upstream.url}]


def rate_limited(seconds: int):
    return error(429, "Rate limit reached for requests", "requests", code="rate_limit_exceeded",
                 headers={"retry-after": str(seconds)})


def test_the_next_model_serves_when_every_key_of_the_first_failed(
        make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(pool(openai_upstream, anthropic_upstream, openai_keys=2))
    for i in range(2):
        openai_upstream.fail(good_key(i), rate_limited(30))
    resp = proxy.chat({**HELLO, "model": f"gpt-4o,{CLAUDE}"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-llm-proxy-model"] == CLAUDE
    assert resp.headers["x-llm-proxy-key"] == id_of(proxy, ant_key(0))
    assert resp.json()["model"] == CLAUDE
    # Both gpt-4o keys were tried once, each sent the one model it serves.
    assert sorted(openai_upstream.keys_used()) == [good_key(0), good_key(1)]
    assert [c.body["model"] for c in openai_upstream.calls] == ["gpt-4o"] * 2
    assert [c.body["model"] for c in anthropic_upstream.calls] == [CLAUDE]
    # Now cooling, gpt-4o is passed over without a call.
    again = proxy.chat({**HELLO, "model": f"gpt-4o,{CLAUDE}", "stream": True})
    assert again.status_code == 200 and again.headers["x-llm-proxy-model"] == CLAUDE
    assert sse_payloads(again)[-1] == "[DONE]"
    assert len(openai_upstream.calls) == 2 and len(anthropic_upstream.calls) == 2


def test_the_first_model_serves_when_it_can(make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(pool(openai_upstream, anthropic_upstream))
    resp = proxy.chat({**HELLO, "model": f" gpt-4o , {CLAUDE}"})
    assert resp.status_code == 200
    assert resp.headers["x-llm-proxy-model"] == "gpt-4o"
    assert len(openai_upstream.calls) == 1 and anthropic_upstream.calls == []
    assert openai_upstream.calls[0].body["model"] == "gpt-4o"


def test_a_request_error_is_never_retried_on_the_next_model(
        make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(pool(openai_upstream, anthropic_upstream))
    openai_upstream.fail(good_key(0), error(400, "Invalid value for 'temperature'.",
                                            param="temperature"))
    resp = proxy.chat({**HELLO, "model": f"gpt-4o,{CLAUDE}"})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "temperature"
    assert len(openai_upstream.calls) == 1 and anthropic_upstream.calls == []


def test_an_alias_of_model_fallbacks_tries_its_models_in_order(
        make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(pool(openai_upstream, anthropic_upstream),
                       MODEL_FALLBACKS=json.dumps({"smart": [CLAUDE, "gpt-4o"]}))
    first = proxy.chat({**HELLO, "model": "smart"})
    assert first.status_code == 200 and first.headers["x-llm-proxy-model"] == CLAUDE
    anthropic_upstream.fail(ant_key(0), ant_error(529, "overloaded_error", "Overloaded"))
    second = proxy.chat({**HELLO, "model": "smart"})
    assert second.status_code == 200 and second.headers["x-llm-proxy-model"] == "gpt-4o"
    assert len(anthropic_upstream.calls) == 2 and len(openai_upstream.calls) == 1
    # The Messages, Responses and embeddings formats take fallbacks the same way.
    message = proxy.messages({"model": "smart", "max_tokens": 16,
                              "messages": [{"role": "user", "content": "hi"}]})
    assert message.status_code == 200, message.text
    assert message.headers["x-llm-proxy-model"] == "gpt-4o"  # the Claude key backs off
    assert message.json()["model"] == "gpt-4o"
    assert openai_upstream.calls[-1].body["model"] == "gpt-4o"
    proxy.admin("POST", "/api/keys", key_entry(openai_upstream, 1,
                                               model="text-embedding-3-small"))
    embedded = proxy.http.post(proxy.url + "/v1/embeddings", json={
        "model": "nothing-here,text-embedding-3-small", "input": "hi"})
    assert embedded.status_code == 200, embedded.text
    assert embedded.headers["x-llm-proxy-model"] == "text-embedding-3-small"
    assert openai_upstream.calls[-1].body["model"] == "text-embedding-3-small"


def test_when_every_model_is_rate_limited_the_soonest_retry_after_is_answered(
        make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(pool(openai_upstream, anthropic_upstream))
    openai_upstream.fail(good_key(0), rate_limited(120))
    anthropic_upstream.fail(ant_key(0), ant_error(429, "rate_limit_error", "Rate limited",
                                                  {"retry-after": "40"}))
    resp = proxy.chat({**HELLO, "model": f"gpt-4o,{CLAUDE}"})
    assert resp.status_code == 429
    assert 38 <= int(resp.headers["Retry-After"]) <= 40
    assert len(openai_upstream.calls) == 1 and len(anthropic_upstream.calls) == 1
    # Both cooling: refused without a call, still with the soonest wait.
    again = proxy.chat({**HELLO, "model": f"gpt-4o,{CLAUDE}"})
    assert again.status_code == 429 and int(again.headers["Retry-After"]) <= 40
    assert len(openai_upstream.calls) == 1 and len(anthropic_upstream.calls) == 1
    assert "x-llm-proxy-key" not in again.headers


def test_unknown_models_in_a_list_are_passed_over_and_only_unknown_is_a_404(
        make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    resp = proxy.chat({**HELLO, "model": "no-such-model,gpt-4o"})
    assert resp.status_code == 200 and resp.headers["x-llm-proxy-model"] == "gpt-4o"
    missing = proxy.chat({**HELLO, "model": "no-such-model,nor-this"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"
    empty = proxy.chat({**HELLO, "model": " , ,"})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "model"
    too_many = proxy.chat({**HELLO, "model": ",".join(f"m{i}" for i in range(40))})
    assert too_many.status_code == 400
    assert len(openai_upstream.calls) == 1


@pytest.mark.parametrize("value", ['["gpt-4o"]', '{"smart": []}', '{"smart": "gpt-4o"}',
                                   '{"smart": ["a,b"]}', '{"a,b": ["gpt-4o"]}',
                                   '{"smart": ["x", "x"]}', "{not json"])
def test_a_bad_model_fallbacks_stops_the_start_with_one_line(value):
    with pytest.raises(ConfigError) as info:
        Config.from_env({"MODEL_FALLBACKS": value}, dotenv_path=None)
    assert str(info.value).startswith("MODEL_FALLBACKS")
    assert "\n" not in str(info.value)


def test_aliases_are_listed_with_the_models(make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(pool(openai_upstream, anthropic_upstream),
                       MODEL_FALLBACKS=json.dumps({"smart": [CLAUDE, "gpt-4o"],
                                                   "gpt-4o": ["gpt-4o", CLAUDE]}))
    listed = proxy.http.get(proxy.url + "/v1/models").json()["data"]
    assert [(m["id"], m["owned_by"]) for m in listed] == [
        ("gpt-4o", "openai"), (CLAUDE, "anthropic"), ("smart", "llm-proxy")]
    one = proxy.http.get(proxy.url + "/v1/models/smart")
    assert one.status_code == 200 and one.json()["owned_by"] == "llm-proxy"
    assert openai_upstream.calls == [] and anthropic_upstream.calls == []
