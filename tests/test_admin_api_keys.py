"""Admin API key management: listing, adding, editing and deleting keys."""
from __future__ import annotations

import time

from conftest import HELLO, assert_error, good_key, id_of, key_entry, listed
from fake_openai import FakeOpenAI, error


KEY_FIELDS = {"id", "provider", "model", "api_key", "base_url", "enabled", "status",
              "cooldown_until", "source", "stats", "upstream_model", "api_version", "rpm",
              "quota_group"}


STATS_FIELDS = {"requests", "successes", "failures", "prompt_tokens", "completion_tokens",
                "last_used", "last_error"}


# -- GET /api/keys ------------------------------------------------------------------------

def test_list_shows_every_field_masked(proxy):
    keys = list(listed(proxy).values())
    assert len(keys) == 2
    for key, secret in zip(keys, (good_key(0), good_key(1))):
        assert set(key) == KEY_FIELDS
        assert key["api_key"] == f"{secret[:4]}…{secret[-4:]}"
        assert key["status"] == "active" and key["enabled"] is True
        assert key["cooldown_until"] is None and key["source"] == "env"
        assert STATS_FIELDS <= set(key["stats"])
        assert key["provider"] == "openai" and key["model"] == "gpt-4o"


def test_env_key_ids_are_stable_across_restarts_and_reordering(make_proxy, openai_upstream):
    first = make_proxy([key_entry(openai_upstream, 0), key_entry(openai_upstream, 1)])
    again = make_proxy([key_entry(openai_upstream, 1), key_entry(openai_upstream, 0)])
    ids = {secret: id_of(first, secret) for secret in (good_key(0), good_key(1))}
    assert ids == {secret: id_of(again, secret) for secret in (good_key(0), good_key(1))}
    assert set(listed(first)) == set(listed(again)) == set(ids.values())
    assert len(set(ids.values())) == 2


def test_list_shows_cooldown_status_and_stats(proxy, openai_upstream):
    openai_upstream.fail(good_key(0), error(429, "Rate limit reached", "requests",
                                            headers={"Retry-After": "30"}))
    assert proxy.chat(HELLO).status_code == 200
    keys = listed(proxy)
    limited, serving = keys[id_of(proxy, good_key(0))], keys[id_of(proxy, good_key(1))]
    assert limited["status"] == "cooling_down"
    assert 25 < limited["cooldown_until"] - time.time() <= 31
    assert limited["stats"]["failures"] == 1
    assert serving["stats"]["successes"] == 1
    assert serving["stats"]["prompt_tokens"] == 11
    assert serving["stats"]["completion_tokens"] == 5


def test_get_one_key(proxy):
    key_id = id_of(proxy, good_key(1))
    resp = proxy.admin("GET", f"/api/keys/{key_id}")
    assert resp.status_code == 200
    assert resp.json()["id"] == key_id and resp.json()["api_key"] == "sk-g…cdef"
    assert_error(proxy.admin("GET", "/api/keys/000000000000"), 404)


# -- POST /api/keys -----------------------------------------------------------------------

def test_add_one_key_serves_the_next_request(proxy, openai_upstream):
    resp = proxy.admin("POST", "/api/keys", key_entry(openai_upstream, 2, model="gpt-new"))
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert set(created) == KEY_FIELDS
    assert created["source"] == "api" and created["api_key"] == "sk-g…cdef"
    assert created["id"] in listed(proxy)
    chat = proxy.chat({**HELLO, "model": "gpt-new"})
    assert chat.status_code == 200
    assert openai_upstream.keys_used("/chat") == [good_key(2)]
    models = proxy.http.get(proxy.base + "/models").json()["data"]
    assert {m["id"] for m in models} == {"gpt-4o", "gpt-new"}


def test_add_array_is_bulk_import(proxy, openai_upstream):
    batch = [key_entry(openai_upstream, i, model=f"bulk-{i}") for i in (2, 3, 4)]
    resp = proxy.admin("POST", "/api/keys", batch)
    assert resp.status_code == 201, resp.text
    created = resp.json()["keys"]
    assert [k["model"] for k in created] == ["bulk-2", "bulk-3", "bulk-4"]
    assert len(listed(proxy)) == 5
    for i in (2, 3, 4):
        assert proxy.chat({**HELLO, "model": f"bulk-{i}"}).status_code == 200
    assert openai_upstream.keys_used("/chat") == [good_key(2), good_key(3), good_key(4)]


def test_add_accepts_alias_and_enabled_flag(proxy):
    resp = proxy.admin("POST", "/api/keys", {"provider": "XAI", "model": "grok-4",
                                             "api_key": "xai-0123456789abcdef",
                                             "enabled": False})
    assert resp.status_code == 201
    assert resp.json()["provider"] == "grok"
    assert resp.json()["status"] == "disabled"


def test_added_openai_compatible_key_needs_and_uses_base_url(proxy, openai_upstream):
    resp = proxy.admin("POST", "/api/keys", {"provider": "openai-compatible", "model": "llama",
                                             "api_key": good_key(3),
                                             "base_url": openai_upstream.base_url + "/"})
    assert resp.status_code == 201
    assert resp.json()["base_url"] == openai_upstream.base_url
    assert proxy.chat({**HELLO, "model": "llama"}).status_code == 200
    assert openai_upstream.calls[-1].path == "/v1/chat/completions"


# -- PATCH /api/keys/<id> -----------------------------------------------------------------

def test_patch_api_key_is_used_by_the_next_request(proxy, openai_upstream):
    key_id = id_of(proxy, good_key(0))
    resp = proxy.admin("PATCH", f"/api/keys/{key_id}", {"api_key": good_key(7)})
    assert resp.status_code == 200, resp.text
    assert resp.json()["api_key"] == "sk-g…cdef" and resp.json()["id"] == key_id
    for _ in range(4):
        assert proxy.chat(HELLO).status_code == 200
    assert set(openai_upstream.keys_used("/chat")) == {good_key(7), good_key(1)}


def test_patch_new_api_key_clears_invalid_mark(proxy, openai_upstream):
    openai_upstream.fail(good_key(0), error(401, "Incorrect API key provided",
                                            "invalid_request_error", code="invalid_api_key"))
    assert proxy.chat(HELLO).status_code == 200
    key_id = id_of(proxy, good_key(0))
    assert listed(proxy)[key_id]["status"] == "invalid"
    resp = proxy.admin("PATCH", f"/api/keys/{key_id}", {"api_key": good_key(6)})
    assert resp.json()["status"] == "active"


def test_patch_model_moves_the_key(proxy, openai_upstream):
    key_id = id_of(proxy, good_key(1))
    resp = proxy.admin("PATCH", f"/api/keys/{key_id}", {"model": "gpt-4o-mini"})
    assert resp.status_code == 200 and resp.json()["model"] == "gpt-4o-mini"
    assert proxy.chat({**HELLO, "model": "gpt-4o-mini"}).status_code == 200
    assert proxy.chat(HELLO).status_code == 200
    assert proxy.chat(HELLO).status_code == 200
    assert openai_upstream.keys_used("/chat") == [good_key(1), good_key(0), good_key(0)]


def test_patch_enabled_takes_the_key_out_and_back(proxy, openai_upstream):
    key_id = id_of(proxy, good_key(0))
    resp = proxy.admin("PATCH", f"/api/keys/{key_id}", {"enabled": False})
    assert resp.json()["enabled"] is False and resp.json()["status"] == "disabled"
    for _ in range(3):
        assert proxy.chat(HELLO).status_code == 200
    assert openai_upstream.keys_used("/chat") == [good_key(1)] * 3
    resp = proxy.admin("PATCH", f"/api/keys/{key_id}", {"enabled": True})
    assert resp.json()["status"] == "active"
    for _ in range(2):
        assert proxy.chat(HELLO).status_code == 200
    assert set(openai_upstream.keys_used("/chat")[3:]) == {good_key(0), good_key(1)}


def test_patch_base_url_sends_the_next_request_there(proxy, openai_upstream):
    other = FakeOpenAI(valid_keys={good_key(0)})
    try:
        key_id = id_of(proxy, good_key(0))
        resp = proxy.admin("PATCH", f"/api/keys/{key_id}", {"base_url": other.base_url})
        assert resp.json()["base_url"] == other.base_url
        for _ in range(2):
            assert proxy.chat(HELLO).status_code == 200
        assert other.keys_used("/chat") == [good_key(0)]
        assert openai_upstream.keys_used("/chat") == [good_key(1)]
        # An empty base_url goes back to the provider's default.
        resp = proxy.admin("PATCH", f"/api/keys/{key_id}", {"base_url": ""})
        assert resp.status_code == 200 and resp.json()["base_url"] is None
    finally:
        other.close()


# -- DELETE -------------------------------------------------------------------------------

def test_delete_by_id(proxy, openai_upstream):
    key_id = id_of(proxy, good_key(0))
    resp = proxy.admin("DELETE", f"/api/keys/{key_id}")
    assert resp.status_code == 204 and resp.content == b""
    assert key_id not in listed(proxy)
    for _ in range(3):
        assert proxy.chat(HELLO).status_code == 200
    assert openai_upstream.keys_used("/chat") == [good_key(1)] * 3
    assert_error(proxy.admin("DELETE", f"/api/keys/{key_id}"), 404)


def test_deleting_the_last_key_of_a_model_makes_it_unknown(proxy):
    for secret in (good_key(0), good_key(1)):
        assert proxy.admin("DELETE", f"/api/keys/{id_of(proxy, secret)}").status_code == 204
    resp = proxy.chat(HELLO)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "model_not_found"


def test_original_delete_by_provider_and_model(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0), key_entry(openai_upstream, 1),
                        key_entry(openai_upstream, 2, model="other")])
    resp = proxy.admin("DELETE", "/api/keys", {"provider": "openai", "model": "gpt-4o"})
    assert resp.status_code == 200 and resp.json() == {"deleted": 2}
    assert [k["model"] for k in listed(proxy).values()] == ["other"]
    assert proxy.chat(HELLO).status_code == 404
    resp = proxy.admin("DELETE", "/api/keys", {"provider": "openai", "model": "gpt-4o"})
    assert_error(resp, 404)


def test_original_delete_with_api_key_deletes_only_that_key(proxy, openai_upstream):
    resp = proxy.admin("DELETE", "/api/keys", {"provider": "openai", "model": "gpt-4o",
                                               "api_key": good_key(1)})
    assert resp.json() == {"deleted": 1}
    assert [k.api_key for k in proxy.pool.keys()] == [good_key(0)]
    resp = proxy.admin("DELETE", "/api/keys", {"provider": "openai", "model": "gpt-4o",
                                               "api_key": good_key(5)})
    assert_error(resp, 404)
    # Another provider with the same model matches nothing either.
    resp = proxy.admin("DELETE", "/api/keys", {"provider": "deepseek", "model": "gpt-4o"})
    assert_error(resp, 404)
    assert len(proxy.pool.keys()) == 1
