"""`rpm`: a key that served that many requests in the last 60 s is skipped, not cooled."""
from __future__ import annotations

import time

from conftest import HELLO, good_key, id_of, key_entry, listed


def test_a_key_at_its_rpm_is_skipped_without_being_cooled(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0, rpm=2), key_entry(openai_upstream, 1)])
    answers = [proxy.chat(HELLO) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    # Round-robin until the first key has its two; then the other serves alone.
    assert openai_upstream.keys_used() == [good_key(0), good_key(1), good_key(0),
                                           good_key(1), good_key(1), good_key(1)]
    limited = listed(proxy)[id_of(proxy, good_key(0))]
    assert limited["status"] == "active" and limited["cooldown_until"] is None
    assert limited["stats"]["requests"] == 2 and limited["stats"]["failures"] == 0
    records = proxy.admin("GET", "/api/requests").json()["requests"]  # newest first
    for record in records[:2]:
        [skip] = record["skipped"]
        assert (skip["key"], skip["reason"]) == (id_of(proxy, good_key(0)), "over_rpm")
        assert time.time() + 50 < skip["until"] <= time.time() + 60
    assert all(not r["skipped"] for r in records[2:])


def test_when_every_key_is_at_its_limit_retry_after_says_when_the_first_frees_up(
        make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0, rpm=2)])
    started = time.monotonic()
    assert proxy.chat(HELLO).status_code == 200
    time.sleep(2.0)
    assert proxy.chat(HELLO).status_code == 200
    refused = proxy.chat(HELLO)
    elapsed = time.monotonic() - started
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    # The first request frees the key 60 s after it started (not the second one).
    retry_after = int(refused.headers["Retry-After"])
    assert 60 - elapsed - 1 <= retry_after <= 59, (retry_after, elapsed)
    assert len(openai_upstream.calls) == 2
    assert listed(proxy)[id_of(proxy, good_key(0))]["status"] == "active"


def test_lifting_the_limit_through_the_admin_api_serves_at_once(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0, rpm=1)])
    assert proxy.chat(HELLO).status_code == 200
    assert proxy.chat(HELLO).status_code == 429
    key_id = id_of(proxy, good_key(0))
    assert proxy.admin("PATCH", f"/api/keys/{key_id}", {"rpm": None}).status_code == 200
    assert proxy.chat(HELLO).status_code == 200
    assert len(openai_upstream.calls) == 2
