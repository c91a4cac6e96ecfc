"""/api/usage and /api/requests over a known mix of requests: successes over several keys,
a failover from a rate-limited key, keys skipped while cooling or disabled, another model
and an unknown one; in one process and shared through Redis."""
from __future__ import annotations

import json
import time

import pytest
from conftest import HELLO, good_key, id_of, key_entries, key_entry, sse_data, wait_for
from fake_openai import error

from redis_server import redis_server  # noqa: F401  (fixture)

PROMPT = "the recipe word is purple-elephant-42"
ASK = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}]}


@pytest.fixture(params=["memory", "redis"])
def store_env(request) -> dict:
    if request.param == "memory":
        return {}
    server = request.getfixturevalue("redis_server")
    return {"REDIS_URL": server.url, "REDIS_PREFIX": "activity-test"}


def mix_proxy(make_proxy, upstream, env: dict):
    """gpt-4o on good keys 0, 1, 2 and 4 (4 disabled), gpt-4o-mini on good key 3."""
    entries = key_entries(upstream, 3) + [key_entry(upstream, 3, model="gpt-4o-mini"),
                                          key_entry(upstream, 4)]
    proxy = make_proxy(entries, **env)
    ids = [id_of(proxy, good_key(i)) for i in range(5)]
    assert proxy.admin("PATCH", f"/api/keys/{ids[4]}", {"enabled": False}).status_code == 200
    return proxy, ids


def send_mix(proxy, upstream) -> list[dict]:
    """The mix, oldest first: what each answer said (status, key, request id, tokens)."""
    upstream.fail(good_key(0), error(429, "Rate limit reached", "requests",
                                     headers={"Retry-After": "30"}))
    seen = []

    def note(resp, usage=None):
        if usage is None and resp.status_code == 200:
            usage = resp.json()["usage"]
        seen.append({"status": resp.status_code, "key": resp.headers.get("x-llm-proxy-key"),
                     "request_id": resp.headers.get("x-request-id"),
                     "prompt": (usage or {}).get("prompt_tokens", 0),
                     "completion": (usage or {}).get("completion_tokens", 0)})

    for _ in range(3):
        note(proxy.chat(ASK))
    stream = proxy.chat({**ASK, "stream": True, "stream_options": {"include_usage": True}},
                        stream=True)
    chunks = [json.loads(d) for d in sse_data(stream) if d != b"[DONE]"]
    note(stream, chunks[-1]["usage"])
    note(proxy.chat(ASK))
    note(proxy.chat({**ASK, "model": "gpt-4o-mini"}))
    note(proxy.chat({**ASK, "model": "no-such-model"}))
    return seen


def totals(series: dict) -> dict:
    """A series' counters summed over its minutes."""
    return {"requests": sum(series["requests"]),
            "errors": {kind: sum(row) for kind, row in series["errors"].items()},
            "prompt_tokens": sum(series["prompt_tokens"]),
            "completion_tokens": sum(series["completion_tokens"])}


def test_the_usage_series_add_up_to_the_mix_and_its_reported_tokens(make_proxy,
                                                                    openai_upstream,
                                                                    store_env):
    proxy, ids = mix_proxy(make_proxy, openai_upstream, store_env)
    seen = send_mix(proxy, openai_upstream)
    assert [s["status"] for s in seen] == [200] * 6 + [404]
    assert [s["key"] for s in seen] == [ids[1], ids[2], ids[1], ids[2], ids[1], ids[3], None]
    tokens = {}
    for s in seen:
        p, c = tokens.get(s["key"], (0, 0))
        tokens[s["key"]] = (p + s["prompt"], c + s["completion"])
    assert all(p > 0 and c > 0 for key, (p, c) in tokens.items() if key)

    resp = proxy.admin("GET", "/api/usage?minutes=60")
    assert resp.status_code == 200
    usage = resp.json()
    assert usage["minutes"] == 60 and len(usage["times"]) == 60 and usage["step"] == 60
    assert usage["times"][-1] <= time.time() < usage["times"][-1] + 60
    assert len(usage["total"]["requests"]) == 60
    all_prompt = sum(p for p, _ in tokens.values())
    all_completion = sum(c for _, c in tokens.values())
    assert totals(usage["total"]) == {"requests": 7, "errors": {"model_not_found": 1},
                                      "prompt_tokens": all_prompt,
                                      "completion_tokens": all_completion}
    four = [tokens[ids[1]], tokens[ids[2]]]
    assert {m: totals(s) for m, s in usage["models"].items()} == {
        "gpt-4o": {"requests": 5, "errors": {},
                   "prompt_tokens": sum(p for p, _ in four),
                   "completion_tokens": sum(c for _, c in four)},
        "gpt-4o-mini": {"requests": 1, "errors": {}, "prompt_tokens": tokens[ids[3]][0],
                        "completion_tokens": tokens[ids[3]][1]}}
    assert {k: totals(s) for k, s in usage["keys"].items()} == {
        ids[0]: {"requests": 1, "errors": {"rate_limited": 1}, "prompt_tokens": 0,
                 "completion_tokens": 0},
        **{ids[i]: {"requests": n, "errors": {}, "prompt_tokens": tokens[ids[i]][0],
                    "completion_tokens": tokens[ids[i]][1]}
           for i, n in ((1, 3), (2, 2), (3, 1))}}
    # The fake counted exactly these calls: the 429, then one per served answer.
    assert openai_upstream.keys_used("/chat/completions") == [
        good_key(0), good_key(1), good_key(2), good_key(1), good_key(2), good_key(1),
        good_key(3)]
    body = resp.text + proxy.admin("GET", "/api/requests").text
    assert PROMPT not in body and "purple" not in body
    assert not any(good_key(i) in body for i in range(5))


def test_the_records_tell_each_request_newest_first(make_proxy, openai_upstream, store_env):
    proxy, ids = mix_proxy(make_proxy, openai_upstream, store_env)
    started = time.time()
    seen = send_mix(proxy, openai_upstream)
    resp = proxy.admin("GET", "/api/requests?limit=200")
    assert resp.status_code == 200
    records = resp.json()["requests"]
    assert len(records) == 7
    records.reverse()  # oldest first, as sent
    cooling = {"key": ids[0], "reason": "cooling"}
    disabled = {"key": ids[4], "reason": "disabled", "until": None}
    expected = [  # (model asked, attempts, skipped)
        ("gpt-4o", [(ids[0], "rate_limited"), (ids[1], "ok")], []),
        ("gpt-4o", [(ids[2], "ok")], []),
        ("gpt-4o", [(ids[1], "ok")], [disabled, cooling]),
        ("gpt-4o", [(ids[2], "ok")], []),
        ("gpt-4o", [(ids[1], "ok")], [disabled, cooling]),
        ("gpt-4o-mini", [(ids[3], "ok")], []),
        ("no-such-model", [], []),
    ]
    for record, answer, (model, attempts, skipped) in zip(records, seen, expected):
        assert record["model"] == model
        assert [(a["key"], a["outcome"]) for a in record["attempts"]] == attempts
        assert all(a["provider"] == "openai" for a in record["attempts"])
        for got, want in zip(record["skipped"], skipped):
            assert {k: got[k] for k in want} == want
            if want["reason"] == "cooling":
                assert started + 29 <= got["until"] <= time.time() + 30.5
        assert len(record["skipped"]) == len(skipped)
        assert record["status"] == answer["status"]
        assert record["served_key"] == answer["key"]
        assert record["request_id"] == answer["request_id"]
        assert (record["prompt_tokens"], record["completion_tokens"]) == (
            answer["prompt"], answer["completion"])
        assert record["format"] == "openai-chat"
        assert started - 1 <= record["time"] <= time.time()
        assert record["latency_ms"] > 0 if record["attempts"] else record["latency_ms"] >= 0
    assert [r["stream"] for r in records] == [False, False, False, True, False, False, False]
    assert [r["served_model"] for r in records] == ["gpt-4o"] * 5 + ["gpt-4o-mini", None]
    assert [r["error"] for r in records] == [None] * 6 + ["model_not_found"]
    assert records[0]["request_id"].startswith("req_")

    newest = proxy.admin("GET", "/api/requests?limit=2").json()["requests"]
    assert [r["model"] for r in newest] == ["no-such-model", "gpt-4o-mini"]


def test_a_request_refused_while_every_key_cools_is_recorded_with_the_reasons(
        make_proxy, openai_upstream, store_env):
    proxy = make_proxy(key_entries(openai_upstream, 2), **store_env)
    for i in range(2):
        openai_upstream.fail(good_key(i), error(429, "slow down", headers={"Retry-After": "60"}))
    assert proxy.chat(HELLO).status_code == 429  # both tried, both cooling now
    resp = proxy.messages({"model": "gpt-4o", "max_tokens": 10,
                           "messages": [{"role": "user", "content": PROMPT}]})
    assert resp.status_code == 429
    refused, failed = proxy.admin("GET", "/api/requests").json()["requests"]
    k0, k1 = id_of(proxy, good_key(0)), id_of(proxy, good_key(1))
    assert (failed["status"], failed["error"], failed["served_key"]) == (429, "rate_limited",
                                                                         None)
    assert [(a["key"], a["outcome"]) for a in failed["attempts"]] == [
        (k0, "rate_limited"), (k1, "rate_limited")]
    assert refused["format"] == "anthropic-messages"
    assert (refused["status"], refused["error"], refused["attempts"]) == (
        429, "all_keys_cooling", [])
    assert sorted((s["key"], s["reason"]) for s in refused["skipped"]) == sorted(
        [(k0, "cooling"), (k1, "cooling")])
    usage = proxy.admin("GET", "/api/usage?minutes=5").json()
    assert totals(usage["models"]["gpt-4o"])["errors"] == {"rate_limited": 1,
                                                           "all_keys_cooling": 1}
    assert {k: totals(s)["errors"] for k, s in usage["keys"].items()} == {
        k0: {"rate_limited": 1}, k1: {"rate_limited": 1}}


def test_both_endpoints_need_the_admin_token_and_check_their_parameters(proxy):
    for path in ("/api/usage", "/api/requests"):
        assert proxy.admin("GET", path, token=None).status_code == 401
        assert proxy.admin("GET", path, token="wrong-token-0123456789").status_code == 401
    for path, name in (("/api/usage", "minutes"), ("/api/requests", "limit")):
        for bad in ("0", "-1", "abc", "1.5", "", "99999999999"):
            resp = proxy.admin("GET", f"{path}?{name}={bad}")
            assert resp.status_code == 400, (path, bad)
            assert resp.json()["error"]["param"] == name
            assert name in resp.json()["error"]["message"]
    usage = proxy.admin("GET", "/api/usage?minutes=100000").json()
    assert usage["minutes"] == 180 and len(usage["times"]) == 180
    assert proxy.admin("GET", "/api/requests?limit=100000").json()["limit"] == 1000
    empty = proxy.admin("GET", "/api/usage").json()
    assert empty["minutes"] == 60 and empty["models"] == {} and empty["keys"] == {}
    assert sum(empty["total"]["requests"]) == 0
    assert proxy.admin("GET", "/api/requests").json()["requests"] == []


def test_records_are_capped_and_keep_the_newest(make_proxy, openai_upstream, store_env,
                                                monkeypatch):
    from llm_proxy.activity import store
    monkeypatch.setattr(store, "RECORDS_KEPT", 5)
    proxy = make_proxy(key_entries(openai_upstream, 1), **store_env)
    for i in range(8):
        assert proxy.chat({**HELLO, "model": "gpt-4o" if i < 7 else "nope"}).status_code in (
            200, 404)
    records = proxy.admin("GET", "/api/requests").json()["requests"]
    assert [r["model"] for r in records] == ["nope"] + ["gpt-4o"] * 4
    if store_env:
        assert proxy.pool._redis.llen("activity-test:requests") == 5


def test_every_process_on_one_redis_sees_the_others_usage_and_records(make_proxy,
                                                                      openai_upstream,
                                                                      redis_server):  # noqa: F811
    env = {"REDIS_URL": redis_server.url, "REDIS_PREFIX": "activity-shared"}
    a = make_proxy(key_entries(openai_upstream, 2), **env)
    b = make_proxy(key_entries(openai_upstream, 2), **env)
    for proxy in (a, b, a):
        assert proxy.chat(HELLO).status_code == 200

    def both_counted():
        records = b.admin("GET", "/api/requests").json()["requests"]
        return len(records) == 3
    assert wait_for(both_counted, timeout=5) is not None
    usage = a.admin("GET", "/api/usage?minutes=3").json()
    assert totals(usage["total"])["requests"] == 3
    assert sorted(totals(s)["requests"] for s in usage["keys"].values()) == [1, 2]


def test_with_redis_gone_each_process_answers_from_what_it_recorded(make_proxy,
                                                                     openai_upstream,
                                                                     redis_server):  # noqa: F811
    proxy = make_proxy(key_entries(openai_upstream, 1), REDIS_URL=redis_server.url,
                       REDIS_PREFIX="activity-outage")
    assert proxy.chat(HELLO).status_code == 200
    redis_server.kill()
    assert proxy.chat(HELLO).status_code == 200  # served from the process's own copy
    usage = proxy.admin("GET", "/api/usage?minutes=2")
    assert usage.status_code == 200
    assert totals(usage.json()["total"])["requests"] == 2
    records = proxy.admin("GET", "/api/requests").json()["requests"]
    assert [r["status"] for r in records] == [200, 200]


def test_a_request_the_keys_provider_cannot_take_is_recorded_as_not_sent(make_proxy,
                                                                         anthropic_upstream):
    from anthropic_common import MODEL, anthropic_entry
    proxy = make_proxy([anthropic_entry(anthropic_upstream, 0)])
    resp = proxy.chat({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}],
                       "n": 2})
    assert resp.status_code == 400
    record, = proxy.admin("GET", "/api/requests").json()["requests"]
    key_id = proxy.pool.keys()[0].id
    assert (record["status"], record["error"], record["served_key"]) == (400, "bad_request",
                                                                         None)
    assert record["attempts"] == [{"key": key_id, "provider": "anthropic",
                                   "outcome": "not_sent"}]
    usage = proxy.admin("GET", "/api/usage?minutes=1").json()
    assert totals(usage["models"][MODEL]) == {"requests": 1, "errors": {"bad_request": 1},
                                              "prompt_tokens": 0, "completion_tokens": 0}
    assert usage["keys"] == {}  # the key never saw it
    assert anthropic_upstream.bodies == []


def test_a_fallback_request_keeps_the_name_asked_and_counts_for_the_model_that_served(
        make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0, model="gpt-4o"),
                        key_entry(openai_upstream, 1, model="gpt-4o-mini")],
                       MODEL_FALLBACKS=json.dumps({"cheap-first": ["gpt-4o", "gpt-4o-mini"]}))
    openai_upstream.fail(good_key(0), error(429, "Rate limit reached", "requests",
                                            headers={"Retry-After": "30"}))
    resp = proxy.chat({**ASK, "model": "cheap-first"})
    assert resp.status_code == 200 and resp.headers["x-llm-proxy-model"] == "gpt-4o-mini"
    record, = proxy.admin("GET", "/api/requests").json()["requests"]
    k0, k1 = id_of(proxy, good_key(0)), id_of(proxy, good_key(1))
    assert (record["model"], record["served_model"], record["served_key"]) == (
        "cheap-first", "gpt-4o-mini", k1)
    assert [(a["key"], a["outcome"]) for a in record["attempts"]] == [(k0, "rate_limited"),
                                                                     (k1, "ok")]
    usage = proxy.admin("GET", "/api/usage?minutes=1").json()
    assert {m: totals(s)["requests"] for m, s in usage["models"].items()} == {"gpt-4o-mini": 1}
    assert {k: totals(s)["errors"] for k, s in usage["keys"].items()} == {
        k0: {"rate_limited": 1}, k1: {}}
