"""Admin API refusals: bad fields and bodies, duplicates, unknown ids, routes and methods, size."""
from __future__ import annotations

import json

import pytest

from conftest import assert_error, good_key, id_of, key_entry, listed


# -- POST /api/keys -----------------------------------------------------------------------

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


# -- PATCH /api/keys/<id> -----------------------------------------------------------------

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


# -- DELETE -------------------------------------------------------------------------------

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


# -- routing ------------------------------------------------------------------------------

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


# -- body size ----------------------------------------------------------------------------

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
