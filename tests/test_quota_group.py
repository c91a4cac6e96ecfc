"""`quota_group`: keys drawing on one upstream quota; a 429 on one cools them all."""
from __future__ import annotations

import time

from conftest import HELLO, good_key, id_of, key_entry
from fake_openai import error


def rate_limited(seconds: int):
    return error(429, "Rate limit reached for requests", "requests", code="rate_limit_exceeded",
                 headers={"retry-after": str(seconds)})


def test_a_429_on_one_key_cools_its_whole_group_for_the_hint(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0, quota_group="project-a"),
                        key_entry(openai_upstream, 1, quota_group="project-a"),
                        key_entry(openai_upstream, 2)])
    openai_upstream.fail(good_key(0), rate_limited(30))
    first = proxy.chat(HELLO)
    assert first.status_code == 200
    # The 429 cooled good_key(1) too: the request went straight to the key outside.
    assert openai_upstream.keys_used() == [good_key(0), good_key(2)]
    for _ in range(3):
        assert proxy.chat(HELLO).status_code == 200
    assert openai_upstream.keys_used()[2:] == [good_key(2)] * 3
    records = proxy.admin("GET", "/api/requests").json()["requests"]  # newest first
    skipped = {s["key"]: s for s in records[0]["skipped"]}
    mate = skipped[id_of(proxy, good_key(1))]
    assert mate["reason"] == "quota_group"
    assert time.time() + 25 < mate["until"] <= time.time() + 30
    assert skipped[id_of(proxy, good_key(0))]["reason"] == "cooling"


def test_without_a_group_or_in_another_provider_keys_are_not_cooled(
        make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0, quota_group="org"),
                        key_entry(openai_upstream, 1, provider="openai-compatible",
                                  quota_group="org"),
                        key_entry(openai_upstream, 2)])
    openai_upstream.fail(good_key(0), rate_limited(30))
    assert proxy.chat(HELLO).status_code == 200
    # The same group name under another provider is another quota.
    assert openai_upstream.keys_used() == [good_key(0), good_key(1)]
    assert proxy.chat(HELLO).status_code == 200
    assert proxy.chat(HELLO).status_code == 200
    assert openai_upstream.keys_used()[2:] == [good_key(2), good_key(1)]


def test_every_key_of_a_cooled_group_is_a_429_with_the_hint(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0, quota_group="g"),
                        key_entry(openai_upstream, 1, quota_group="g")])
    openai_upstream.fail(good_key(0), rate_limited(20))
    resp = proxy.chat(HELLO)
    assert resp.status_code == 429
    assert 18 <= int(resp.headers["Retry-After"]) <= 20
    again = proxy.chat(HELLO)
    assert again.status_code == 429 and 17 <= int(again.headers["Retry-After"]) <= 20
    assert openai_upstream.keys_used() == [good_key(0)]
