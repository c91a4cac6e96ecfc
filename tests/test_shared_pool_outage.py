"""The shared pool when Redis goes away, comes back empty, or is read by someone else."""
from __future__ import annotations

import re
import threading
import time

import pytest
import requests
from conftest import good_key, wait_for
from gunicorn_process import Gunicorn
from redis_server import redis_server  # noqa: F401  (fixture)

ADMIN = "admin-token-outage-0123456789"
PREFIX = "outage-test"
HI = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def proxy(redis_server, openai_upstream, tmp_path):  # noqa: F811
    server = Gunicorn(tmp_path / "proxy.log",
                      [{"provider": "openai", "model": "gpt-4o", "api_key": good_key(i),
                        "base_url": openai_upstream.base_url} for i in range(3)],
                      args=["-w", "2"],
                      env={"REDIS_URL": redis_server.url, "REDIS_PREFIX": PREFIX,
                           "ADMIN_TOKEN": ADMIN})
    yield server
    server.stop()


def admin(server, method, path, body=None) -> requests.Response:
    return requests.request(method, server.url + path, json=body, timeout=30,
                            headers={"Authorization": f"Bearer {ADMIN}"})


def shared_state(server) -> set:
    """The shared_state of a few /healthz answers (both workers answer some)."""
    return {requests.get(server.url + "/healthz", timeout=10).json()["shared_state"]
            for _ in range(6)}


def wait_until(predicate, timeout: float) -> bool:
    return wait_for(predicate, timeout, interval=0.1) is not None


def test_redis_killed_mid_run_fails_no_request_and_the_pool_rejoins(proxy, redis_server):
    statuses: list[int] = []
    stop = threading.Event()

    def client():
        session = requests.Session()
        while not stop.is_set():
            statuses.append(session.post(proxy.base + "/chat/completions", json=HI,
                                         timeout=30).status_code)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        assert wait_until(lambda: len(statuses) >= 10, 20)
        redis_server.kill()
        served = len(statuses)
        assert wait_until(lambda: len(statuses) >= served + 20, 20)
        health = requests.get(proxy.url + "/healthz", timeout=10)
        assert health.status_code == 200
        assert wait_until(lambda: shared_state(proxy) == {"unavailable"}, 10)
        metrics = requests.get(proxy.url + "/metrics", timeout=10).text
        assert re.search(r"^llm_proxy_shared_state_up 0\.0$", metrics, re.M), metrics[-2000:]
        write = admin(proxy, "POST", "/api/keys", {"provider": "openai", "model": "gpt-4o",
                                                   "api_key": good_key(6)})
        assert write.status_code == 503
        assert "Redis" in write.json()["error"]["message"]
        assert write.json()["error"]["code"] == "shared_state_unavailable"
        redis_server.start()
        started = time.monotonic()
        assert wait_until(lambda: shared_state(proxy) == {"ok"}, 5)
        assert time.monotonic() - started < 5
        served = len(statuses)
        assert wait_until(lambda: len(statuses) >= served + 10, 20)
    finally:
        stop.set()
        thread.join(60)
    assert set(statuses) == {200}, sorted(set(statuses))
    # Back in Redis: the keys of LLM_KEYS, and admin changes work again.
    assert len(admin(proxy, "GET", "/api/keys").json()["keys"]) == 3
    assert admin(proxy, "POST", "/api/keys", {"provider": "openai", "model": "gpt-4o",
                                              "api_key": good_key(6)}).status_code == 201


def test_a_flushed_redis_is_seeded_again_without_a_restart(proxy, redis_server):
    ids = sorted(k["id"] for k in admin(proxy, "GET", "/api/keys").json()["keys"])
    assert requests.post(proxy.base + "/chat/completions", json=HI, timeout=30).ok
    redis_server.client().flushall()
    for _ in range(4):
        assert requests.post(proxy.base + "/chat/completions", json=HI,
                             timeout=30).status_code == 200
    assert sorted(k["id"] for k in admin(proxy, "GET", "/api/keys").json()["keys"]) == ids
    assert redis_server.client().exists(f"{PREFIX}:seeded")


def test_a_dump_of_redis_holds_no_secret(proxy, redis_server, openai_upstream):
    added = "sk-added-through-the-api-9876543210"
    openai_upstream.valid_keys.add(added)
    assert admin(proxy, "POST", "/api/keys", {"provider": "openai", "model": "gpt-4o",
                                              "api_key": added,
                                              "base_url": openai_upstream.base_url}).ok
    for _ in range(8):
        assert requests.post(proxy.base + "/chat/completions", json=HI, timeout=30).ok
    assert added in openai_upstream.keys_used()
    names = list(redis_server.client().scan_iter(match="*"))
    assert names and all(name.startswith(PREFIX + ":") for name in names)
    dump = redis_server.dump(PREFIX)
    for secret in [good_key(i) for i in range(3)] + [added, ADMIN]:
        runs = {secret[i:i + 9] for i in range(len(secret) - 8)}
        assert not [run for run in runs if run in dump], secret[:4]
