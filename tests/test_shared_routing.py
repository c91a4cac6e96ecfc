"""Routing on the shared pool: two gunicorn processes on one real Redis (SPEC §10)."""
from __future__ import annotations

import pytest
import requests
from anthropic_common import ant_key
from conftest import good_key
from gunicorn_process import Gunicorn
from redis_server import redis_server  # noqa: F401  (fixture)

ADMIN = "admin-token-routing-0123456789"
PREFIX = "test-routing"


def smart(model: str = "smart") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def start_pair(redis_server, tmp_path, entries, **env):  # noqa: F811
    env = {"REDIS_URL": redis_server.url, "REDIS_PREFIX": PREFIX, "ADMIN_TOKEN": ADMIN,
           **{k: str(v) for k, v in env.items()}}
    servers = []
    try:
        for name in ("a", "b"):
            servers.append(Gunicorn(tmp_path / f"{name}.log", entries, args=["-w", "1"],
                                    env=env))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


@pytest.fixture
def pairs():
    made = []
    yield made
    for servers in made:
        for server in servers:
            server.stop()


def chat(server, body) -> requests.Response:
    return requests.post(server.base + "/chat/completions", json=body, timeout=30)


def admin(server, method, path, body=None) -> requests.Response:
    return requests.request(method, server.url + path, json=body, timeout=30,
                            headers={"Authorization": f"Bearer {ADMIN}"})


def mixed_pool(openai_upstream, anthropic_upstream) -> list:
    return [{"provider": "openai", "model": "smart", "api_key": good_key(0),
             "base_url": openai_upstream.base_url, "upstream_model": "gpt-4o"},
            {"provider": "anthropic", "model": "smart", "api_key": ant_key(0),
             "base_url": anthropic_upstream.url, "upstream_model": "claude-sonnet-4-5"}]


def test_a_mixed_alias_rotates_across_processes_with_each_upstream_name(
        redis_server, tmp_path, pairs, openai_upstream, anthropic_upstream):  # noqa: F811
    pair = start_pair(redis_server, tmp_path, mixed_pool(openai_upstream, anthropic_upstream))
    pairs.append(pair)
    answers = [chat(pair[i % 2], smart()) for i in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    assert [a.json()["model"] for a in answers] == ["smart"] * 6
    providers = [a.headers["x-llm-proxy-key"] for a in answers]
    assert providers[0] != providers[1] and providers[::2] == [providers[0]] * 3
    assert [c.body["model"] for c in openai_upstream.calls] == ["gpt-4o"] * 3
    assert [c.body["model"] for c in anthropic_upstream.calls] == ["claude-sonnet-4-5"] * 3
    # The fields live in Redis: an edit through one process holds on the other at once.
    keys = admin(pair[0], "GET", "/api/keys").json()["keys"]
    openai_id = next(k["id"] for k in keys if k["provider"] == "openai")
    resp = admin(pair[0], "PATCH", f"/api/keys/{openai_id}",
                 {"upstream_model": "gpt-4o-mini", "rpm": 50, "quota_group": "org"})
    assert resp.status_code == 200, resp.text
    shown = {k["id"]: k for k in admin(pair[1], "GET", "/api/keys").json()["keys"]}[openai_id]
    assert (shown["upstream_model"], shown["rpm"], shown["quota_group"]) == \
        ("gpt-4o-mini", 50, "org")
    for i in range(2):
        assert chat(pair[1], smart()).status_code == 200
    assert openai_upstream.calls[-1].body["model"] == "gpt-4o-mini"


def test_rpm_is_counted_pool_wide(redis_server, tmp_path, pairs, openai_upstream):  # noqa: F811
    entries = [{"provider": "openai", "model": "gpt-4o", "api_key": good_key(i),
                "base_url": openai_upstream.base_url, **({"rpm": 2} if i == 0 else {})}
               for i in range(2)]
    pair = start_pair(redis_server, tmp_path, entries)
    pairs.append(pair)
    answers = [chat(pair[i % 2], smart("gpt-4o")) for i in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    # Two through either process use up the limited key's minute for both.
    assert openai_upstream.keys_used() == [good_key(0), good_key(1), good_key(0),
                                           good_key(1), good_key(1), good_key(1)]
    keys = {k["api_key"][:9]: k for k in admin(pair[1], "GET", "/api/keys").json()["keys"]}
    assert all(k["status"] == "active" for k in keys.values())
    # With the other key disabled, the limited one answers 429 until its first request
    # is a minute old, from either process.
    other = next(k["id"] for k in keys.values() if k["rpm"] is None)
    assert admin(pair[0], "PATCH", f"/api/keys/{other}", {"enabled": False}).status_code == 200
    for server in pair:
        refused = chat(server, smart("gpt-4o"))
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(openai_upstream.calls) == 6


def test_a_429_in_one_process_cools_the_group_for_the_other(
        redis_server, tmp_path, pairs, openai_upstream):  # noqa: F811
    from fake_openai import error
    entries = [{"provider": "openai", "model": "gpt-4o", "api_key": good_key(i),
                "base_url": openai_upstream.base_url,
                **({"quota_group": "project-a"} if i < 2 else {})} for i in range(3)]
    pair = start_pair(redis_server, tmp_path, entries)
    pairs.append(pair)
    openai_upstream.fail(good_key(0), error(429, "Rate limit reached", "requests",
                                            headers={"retry-after": "30"}))
    assert chat(pair[0], smart("gpt-4o")).status_code == 200
    assert openai_upstream.keys_used() == [good_key(0), good_key(2)]
    for i in range(3):
        assert chat(pair[1], smart("gpt-4o")).status_code == 200
    # The other process passes over both keys of the group without a call.
    assert openai_upstream.keys_used()[2:] == [good_key(2)] * 3
