"""The admin API of SPEC §5 over real HTTP: every route, status and validation error."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import HELLO, assert_error, good_key, id_of, key_entries, key_entry, listed, sse_data
from fake_openai import FakeOpenAI, error
from fake_upstream import Reply, Stream

KEY_FIELDS = {"id", "provider", "model", "api_key", "base_url", "enabled", "status",
              "cooldown_until", "source", "stats"}
STATS_FIELDS = {"requests", "successes", "failures", "prompt_tokens", "completion_tokens",
                "last_used", "last_error"}


@pytest.fixture
def proxy(make_proxy, openai_upstream):
    return make_proxy([key_entry(openai_upstream, 0), key_entry(openai_upstream, 1)])


# -- GET /api/keys ---------------------------------------------------------------------------

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


# -- POST /api/keys --------------------------------------------------------------------------

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


def test_bulk_with_one_bad_entry_adds_nothing(proxy, openai_upstream):
    batch = [key_entry(openai_upstream, 2), {"provider": "openai", "model": "gpt-4o"}]
    err = assert_error(proxy.admin("POST", "/api/keys", batch), 400, "api_key")
    assert err["message"].startswith("entry 1: ")
    assert len(listed(proxy)) == 2


def test_duplicate_of_existing_key_is_409(proxy, openai_upstream):
    err = assert_error(proxy.admin("POST", "/api/keys", key_entry(openai_upstream, 0)), 409)
    assert err["code"] == "duplicate_key"
    # Same secret for another model is not a duplicate.
    assert proxy.admin("POST", "/api/keys",
                       key_entry(openai_upstream, 0, model="other")).status_code == 201


def test_duplicate_within_a_batch_is_409_and_adds_nothing(proxy, openai_upstream):
    batch = [key_entry(openai_upstream, 5), key_entry(openai_upstream, 6),
             key_entry(openai_upstream, 5)]
    err = assert_error(proxy.admin("POST", "/api/keys", batch), 409)
    assert err["message"].startswith("entry 2: ")
    assert len(listed(proxy)) == 2
    batch = [key_entry(openai_upstream, 5), key_entry(openai_upstream, 1)]
    assert_error(proxy.admin("POST", "/api/keys", batch), 409)
    assert len(listed(proxy)) == 2


GOOD = {"provider": "openai", "model": "gpt-4o", "api_key": "sk-valid-0123456789abcdef"}
SECRET_IN_BAD_KEY = "sk-live-abcdef0123456789"


@pytest.mark.parametrize("change,param", [
    ({"provider": None}, "provider"),
    ({"provider": "openia"}, "provider"),
    ({"provider": 7}, "provider"),
    ({"model": None}, "model"),
    ({"model": ""}, "model"),
    ({"model": "   "}, "model"),
    ({"model": ["gpt-4o"]}, "model"),
    ({"model": "gpt\n4o"}, "model"),
    ({"model": "m" * 300}, "model"),
    ({"model": "bad\ud800m"}, "model"),  # a lone surrogate: no metric label can carry it
    ({"provider": "gemini", "model": "gemini-2.0-flash?alt=sse"}, "model"),
    ({"provider": "gemini", "model": "../../v1/files"}, "model"),
    ({"api_key": None}, "api_key"),
    ({"api_key": ""}, "api_key"),
    ({"api_key": 12345678901}, "api_key"),
    ({"api_key": SECRET_IN_BAD_KEY + " "}, "api_key"),
    ({"api_key": "sk-live-abc def0123456789"}, "api_key"),
    ({"api_key": SECRET_IN_BAD_KEY + "\x00"}, "api_key"),
    ({"api_key": "sk-l…6789"}, "api_key"),
    ({"base_url": "ftp://example.com/v1"}, "base_url"),
    ({"base_url": "api.openai.com/v1"}, "base_url"),
    ({"base_url": "http://"}, "base_url"),
    ({"base_url": 42}, "base_url"),
    ({"base_url": "https://user:pw@example.com/v1"}, "base_url"),
    ({"base_url": "https://example.com/v1?key=abc"}, "base_url"),
    ({"base_url": "https://example.com:99999/v1"}, "base_url"),
    ({"base_url": "https://exa mple.com/v1"}, "base_url"),
    ({"base_url": "https://example.com/\udc80"}, "base_url"),
    ({"provider": "openai-compatible"}, "base_url"),
    ({"provider": "openai-compatible", "base_url": ""}, "base_url"),
    ({"enabled": "yes"}, "enabled"),
    ({"id": "abc"}, "id"),
])
def test_add_validates_every_field(proxy, change, param):
    # None in `change` leaves the field out.
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    resp = proxy.admin("POST", "/api/keys", body)
    err = assert_error(resp, 400, param, mentions=f"'{param}'")
    assert err["type"] == "invalid_request_error"
    # The submitted secret is never quoted back, whatever was wrong with it.
    assert "abcdef0123456789" not in resp.text and "def0123456789" not in resp.text
    assert len(listed(proxy)) == 2


@pytest.mark.parametrize("raw,code", [
    (b"", "invalid_json"), (b"{not json", "invalid_json"), (b"[]", None), (b"42", None),
    (b"[42]", None), (b'"sk-live-abcdef0123456789"', None),
])
def test_add_rejects_bodies_that_are_not_entries(proxy, raw, code):
    resp = proxy.admin("POST", "/api/keys", headers={"Content-Type": "application/json"},
                       data=raw)
    err = assert_error(resp, 400)
    if code:
        assert err["code"] == code
    assert "abcdef0123456789" not in resp.text
    assert len(listed(proxy)) == 2


def test_added_openai_compatible_key_needs_and_uses_base_url(proxy, openai_upstream):
    resp = proxy.admin("POST", "/api/keys", {"provider": "openai-compatible", "model": "llama",
                                             "api_key": good_key(3),
                                             "base_url": openai_upstream.base_url + "/"})
    assert resp.status_code == 201
    assert resp.json()["base_url"] == openai_upstream.base_url
    assert proxy.chat({**HELLO, "model": "llama"}).status_code == 200
    assert openai_upstream.calls[-1].path == "/v1/chat/completions"


# -- PATCH /api/keys/<id> --------------------------------------------------------------------

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


@pytest.mark.parametrize("body,param", [
    ({"provider": "anthropic"}, "provider"),
    ({"id": "x"}, "id"),
    ({"source": "env"}, "source"),
    ({"model": ""}, "model"),
    ({"api_key": SECRET_IN_BAD_KEY + " x"}, "api_key"),
    ({"api_key": ""}, "api_key"),
    ({"base_url": "file:///etc/passwd"}, "base_url"),
    ({"enabled": 1}, "enabled"),
])
def test_patch_validates_every_field(proxy, body, param):
    key_id = id_of(proxy, good_key(0))
    before = listed(proxy)[key_id]
    resp = proxy.admin("PATCH", f"/api/keys/{key_id}", body)
    assert_error(resp, 400, param, mentions=f"'{param}'")
    assert "abcdef0123456789" not in resp.text
    assert listed(proxy)[key_id] == before


@pytest.mark.parametrize("raw", [b"", b"{}", b"[]", b"null", b"{bad"])
def test_patch_needs_a_non_empty_object(proxy, raw):
    key_id = id_of(proxy, good_key(0))
    resp = proxy.admin("PATCH", f"/api/keys/{key_id}", data=raw,
                       headers={"Content-Type": "application/json"})
    assert_error(resp, 400)


def test_patch_keeps_provider_rules(make_proxy, openai_upstream):
    proxy = make_proxy([
        {"provider": "openai-compatible", "model": "llama", "api_key": good_key(0),
         "base_url": openai_upstream.base_url},
        {"provider": "gemini", "model": "gemini-2.0-flash", "api_key": "AIza-0123456789abcdef",
         "base_url": "http://127.0.0.1:9"}])
    compatible, gemini = id_of(proxy, good_key(0)), id_of(proxy, "AIza-0123456789abcdef")
    for value in (None, ""):
        resp = proxy.admin("PATCH", f"/api/keys/{compatible}", {"base_url": value})
        assert_error(resp, 400, "base_url", mentions="openai-compatible")
    assert listed(proxy)[compatible]["base_url"] == openai_upstream.base_url
    resp = proxy.admin("PATCH", f"/api/keys/{gemini}", {"model": "gemini-pro:generateContent"})
    assert_error(resp, 400, "model")
    resp = proxy.admin("PATCH", f"/api/keys/{gemini}", {"model": "gemini-2.5-pro"})
    assert resp.status_code == 200
    # The same model name is fine for a provider that does not put it in the URL.
    resp = proxy.admin("PATCH", f"/api/keys/{compatible}", {"model": "org/llama:8b"})
    assert resp.status_code == 200


def test_patch_into_a_duplicate_is_409(proxy):
    key_id = id_of(proxy, good_key(0))
    assert_error(proxy.admin("PATCH", f"/api/keys/{key_id}", {"api_key": good_key(1)}), 409)
    assert proxy.pool.get(key_id).api_key == good_key(0)


def test_patch_unknown_id_is_404(proxy):
    assert_error(proxy.admin("PATCH", "/api/keys/000000000000", {"enabled": False}), 404)


# -- DELETE ----------------------------------------------------------------------------------

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


@pytest.mark.parametrize("body,param", [
    (None, "provider"),
    ({"model": "gpt-4o"}, "provider"),
    ({"provider": "openai"}, "model"),
    ({"provider": "nope", "model": "gpt-4o"}, "provider"),
    ({"provider": "openai", "model": ""}, "model"),
    ({"provider": "openai", "model": "gpt-4o", "api_key": ""}, "api_key"),
    ({"provider": "openai", "model": "gpt-4o", "id": "abc"}, "id"),
    (["openai", "gpt-4o"], "provider"),
])
def test_original_delete_validates(proxy, body, param):
    resp = proxy.admin("DELETE", "/api/keys", body)
    assert_error(resp, 400, param)
    assert len(proxy.pool.keys()) == 2


# -- test, reset, providers ------------------------------------------------------------------

def test_test_route_checks_a_good_key_with_a_models_listing(proxy, openai_upstream):
    key_id = id_of(proxy, good_key(0))
    resp = proxy.admin("POST", f"/api/keys/{key_id}/test")
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["ok"] is True and result["error"] is None
    assert result["key"]["id"] == key_id and result["key"]["status"] == "active"
    call = openai_upstream.calls[-1]
    assert (call.method, call.path, call.key) == ("GET", "/v1/models", good_key(0))
    # A check is not a client request.
    assert listed(proxy)[key_id]["stats"]["requests"] == 0


def test_test_route_marks_a_rejected_key_invalid(proxy, openai_upstream):
    key_id = id_of(proxy, good_key(0))
    openai_upstream.valid_keys.discard(good_key(0))
    result = proxy.admin("POST", f"/api/keys/{key_id}/test").json()
    assert result["ok"] is False and result["status"] == 401 and result["invalid"] is True
    assert result["error"]["code"] == "invalid_api_key"
    assert "Incorrect API key provided" in result["error"]["message"]
    assert good_key(0) not in json.dumps(result)
    assert result["key"]["status"] == "invalid"
    assert listed(proxy)[key_id]["status"] == "invalid"
    # Back in the provider's good books: the next check clears the mark.
    openai_upstream.valid_keys.add(good_key(0))
    result = proxy.admin("POST", f"/api/keys/{key_id}/test").json()
    assert result["ok"] is True and result["key"]["status"] == "active"


def test_test_route_records_a_rate_limit_as_cooldown(proxy, openai_upstream):
    key_id = id_of(proxy, good_key(1))
    openai_upstream.fail(good_key(1), error(429, "Rate limit reached", "requests",
                                            headers={"Retry-After": "20"}))
    result = proxy.admin("POST", f"/api/keys/{key_id}/test").json()
    assert result["ok"] is False and result["status"] == 429
    assert result["key"]["status"] == "cooling_down"
    assert 15 < result["key"]["cooldown_until"] - time.time() <= 21


def test_test_route_reports_an_unreachable_upstream(make_proxy):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": good_key(0),
                         "base_url": f"http://127.0.0.1:{port}/v1"}])
    result = proxy.admin("POST", f"/api/keys/{id_of(proxy, good_key(0))}/test").json()
    assert result["ok"] is False and result["status"] == 502
    assert result["error"]["code"] == "upstream_unreachable"


def test_test_route_refuses_a_page_that_is_not_a_listing(make_proxy):
    class HtmlSite(FakeOpenAI):
        def handle(self, call):
            return Reply(200, "<html>welcome</html>", {"Content-Type": "text/html"})

    site = HtmlSite()
    try:
        proxy = make_proxy([key_entry(site, 0)])
        result = proxy.admin("POST", f"/api/keys/{id_of(proxy, good_key(0))}/test").json()
        assert result["ok"] is False and "base_url" in result["error"]["message"]
        assert result["key"]["status"] == "active"
    finally:
        site.close()


def test_test_route_unknown_id_is_404(proxy):
    assert_error(proxy.admin("POST", "/api/keys/000000000000/test"), 404)


def test_reset_clears_invalid_and_cooldown(proxy, openai_upstream):
    openai_upstream.fail(good_key(0), error(401, "Incorrect API key provided",
                                            code="invalid_api_key"))
    openai_upstream.fail(good_key(1), error(429, "Rate limit", "requests",
                                            headers={"Retry-After": "60"}))
    assert proxy.chat(HELLO).status_code == 429
    for secret in (good_key(0), good_key(1)):
        key_id = id_of(proxy, secret)
        assert listed(proxy)[key_id]["status"] in ("invalid", "cooling_down")
        resp = proxy.admin("POST", f"/api/keys/{key_id}/reset")
        assert resp.status_code == 200
        assert resp.json()["status"] == "active" and resp.json()["cooldown_until"] is None
    assert proxy.chat(HELLO).status_code == 200
    assert_error(proxy.admin("POST", "/api/keys/000000000000/reset"), 404)


def test_providers_lists_default_base_urls(proxy):
    resp = proxy.admin("GET", "/api/providers")
    assert resp.status_code == 200
    providers = {p["name"]: p for p in resp.json()["providers"]}
    assert {name: p["default_base_url"] for name, p in providers.items()} == {
        "openai": "https://api.openai.com/v1",
        "deepseek": "https://api.deepseek.com",
        "grok": "https://api.x.ai/v1",
        "openai-compatible": None,
        "anthropic": "https://api.anthropic.com",
        "gemini": "https://generativelanguage.googleapis.com",
    }
    assert providers["openai-compatible"]["base_url_required"] is True
    assert providers["openai"]["base_url_required"] is False
    assert providers["grok"]["aliases"] == ["xai"]


# -- routing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,status", [
    ("GET", "/api", 404),
    ("GET", "/api/", 404),
    ("GET", "/api/nothing", 404),
    ("GET", "/api/keys/abc/nothing", 404),
    ("PUT", "/api/keys", 405),
    ("PUT", "/api/keys/abc", 405),
    ("GET", "/api/keys/abc/test", 405),
    ("POST", "/api/providers", 405),
])
def test_unknown_routes_and_methods_with_token(proxy, method, path, status):
    resp = proxy.admin(method, path)
    err = assert_error(resp, status)
    assert err["type"] == "invalid_request_error"
    if status == 405:
        assert resp.headers["Allow"]


# -- changes while requests are in flight ----------------------------------------------------

class TaggingOpenAI(FakeOpenAI):
    """FakeOpenAI that says, in `system_fingerprint`, which key served, after a pause."""

    def __init__(self, tags: dict, delay: float):
        super().__init__(valid_keys=set(tags))
        self.tags, self.delay = tags, delay

    def handle(self, call):
        answer = super().handle(call)
        tag = f"fp_{self.tags.get(call.key, 'none')}".encode()
        if isinstance(answer, Reply) and answer.status == 200:
            answer.body["system_fingerprint"] = tag.decode()
            answer.delay = self.delay
        elif isinstance(answer, Stream):
            answer.events = [e.replace(b'"fp_fake"', b'"' + tag + b'"') for e in answer.events]
            answer.first_delay = self.delay
        return answer


def test_changes_while_100_requests_run(make_proxy):
    """No request fails because of a change; none starting after a delete uses that key."""
    tags = {good_key(i): name for i, name in enumerate("ABCD")}
    upstream = TaggingOpenAI(tags, delay=0.15)
    try:
        proxy = make_proxy(key_entries(upstream, 3))
        ids = {tags[k.api_key]: k.id for k in proxy.pool.keys()}
        results = [None] * 100
        t0 = time.monotonic()

        def one(i):
            time.sleep(max(0.0, t0 + i * 0.012 - time.monotonic()))
            started = time.monotonic()
            stream = i % 3 == 0
            resp = proxy.http.post(proxy.base + "/chat/completions",
                                   json={**HELLO, "stream": stream}, timeout=30)
            if stream:
                payloads = [json.loads(data) for data in sse_data(resp) if data.startswith(b"{")]
                fingerprint = payloads[0]["system_fingerprint"] if payloads else None
                complete = resp.text.rstrip().endswith("data: [DONE]")
            else:
                fingerprint = resp.json().get("system_fingerprint")
                complete = bool(resp.json().get("choices"))
            results[i] = (started, time.monotonic(), resp.status_code, complete,
                          (fingerprint or "")[3:])

        changes = {}

        def change(at, name, method, path, body=None, expect=200):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            resp = proxy.admin(method, path, body)
            assert resp.status_code == expect, resp.text
            changes[name] = time.monotonic()
            return resp

        with ThreadPoolExecutor(max_workers=100) as pool:
            futures = [pool.submit(one, i) for i in range(100)]
            change(0.3, "delete A", "DELETE", f"/api/keys/{ids['A']}", expect=204)
            added = change(0.5, "add D", "POST", "/api/keys", key_entry(upstream, 3), expect=201)
            change(0.7, "disable B", "PATCH", f"/api/keys/{ids['B']}", {"enabled": False})
            change(0.9, "delete C", "DELETE", "/api/keys",
                   {"provider": "openai", "model": "gpt-4o", "api_key": good_key(2)})
            for future in futures:
                future.result()
        assert added.json()["status"] == "active"
    finally:
        upstream.close()

    assert all(r[2] == 200 and r[3] for r in results), [r for r in results if r[2] != 200]
    for name, key in (("delete A", "A"), ("disable B", "B"), ("delete C", "C")):
        after = [r for r in results if r[0] > changes[name]]
        assert after and all(r[4] != key for r in after), name
    # Requests were in flight on a key while it was deleted, and still succeeded.
    assert any(r[4] == "A" and r[1] > changes["delete A"] for r in results)
    # The key added mid-run served requests right away.
    assert any(r[4] == "D" and r[0] > changes["add D"] for r in results)
    assert all(r[4] == "D" for r in results if r[0] > changes["delete C"])


def test_chunked_admin_body_over_the_limit_is_413(make_proxy, openai_upstream):
    """Regression: a chunked body over MAX_BODY_BYTES was cut and answered "invalid JSON"."""
    proxy = make_proxy([key_entry(openai_upstream, 0)], MAX_BODY_BYTES=4096)
    payload = json.dumps([{"provider": "openai", "model": f"m{i}",
                           "api_key": f"sk-bulk-{i:04d}-0123456789abcdef"}
                          for i in range(100)]).encode()
    resp = proxy.http.post(proxy.url + "/api/keys", data=iter([payload[:3000], payload[3000:]]),
                           headers={"Authorization": f"Bearer {proxy.admin_token}",
                                    "Content-Type": "application/json"})
    err = assert_error(resp, 413)
    assert err["code"] == "payload_too_large"
    assert len(proxy.pool.keys()) == 1
