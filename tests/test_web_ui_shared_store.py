"""The web page says where keys live when they are shared through Redis, in Chromium."""
from __future__ import annotations

from playwright.sync_api import expect

from conftest import good_key
from redis_server import redis_server  # noqa: F401  (fixture)


def test_the_note_says_keys_are_shared_through_redis_and_when_it_is_gone(
        make_proxy, openai_upstream, redis_server, web):  # noqa: F811
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": good_key(0),
                         "base_url": openai_upstream.base_url}],
                       REDIS_URL=redis_server.url, REDIS_PREFIX="ui-test")
    assert proxy.admin("GET", "/api/keys").json()["store"] == {"kind": "redis", "shared": True}
    page = web.page()
    page.goto(f"{proxy.url}/static/index.html#token={proxy.admin_token}")
    note = page.locator("#memory-note")
    expect(note).to_contain_text("Keys live in Redis, shared by every proxy process",
                                 timeout=10_000)
    expect(note).not_to_contain_text("memory only")
    redis_server.kill()
    expect(note).to_contain_text("Redis cannot be reached", timeout=15_000)
    assert proxy.admin("GET", "/api/keys").json()["store"] == {"kind": "redis", "shared": False}


def test_without_redis_the_store_is_this_processs_memory(make_proxy, openai_upstream):
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": good_key(0),
                         "base_url": openai_upstream.base_url}])
    assert proxy.admin("GET", "/api/keys").json()["store"] == {"kind": "memory"}
