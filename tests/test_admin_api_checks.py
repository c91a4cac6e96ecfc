"""Admin API key checks and resets, and the providers it lists."""
from __future__ import annotations

import json
import time

from conftest import HELLO, assert_error, free_port, good_key, id_of, key_entry, listed
from fake_openai import FakeOpenAI, error
from fake_upstream import Reply


# -- test, reset, providers ---------------------------------------------------------------

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
    port = free_port()
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
        "azure": None,
        "anthropic": "https://api.anthropic.com",
        "gemini": "https://generativelanguage.googleapis.com",
    }
    assert providers["openai-compatible"]["base_url_required"] is True
    assert providers["azure"]["base_url_required"] is True
    assert providers["openai"]["base_url_required"] is False
    assert providers["grok"]["aliases"] == ["xai"]
