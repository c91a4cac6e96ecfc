"""Two gunicorn processes of two workers each, one Redis: one pool, exact and shared."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests
from conftest import good_key
from fake_upstream import Reply
from gunicorn_process import Gunicorn
from redis_server import redis_server  # noqa: F401  (fixture)

ADMIN = "admin-token-shared-0123456789"
PREFIX = "test-pool"
HI = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def entries(upstream, n=3):
    return [{"provider": "openai", "model": "gpt-4o", "api_key": good_key(i),
             "base_url": upstream.base_url} for i in range(n)]


@pytest.fixture
def pair(redis_server, openai_upstream, tmp_path):  # noqa: F811
    """Two proxies (-w 2 each) on one Redis, three keys of one fake OpenAI upstream."""
    env = {"REDIS_URL": redis_server.url, "REDIS_PREFIX": PREFIX, "ADMIN_TOKEN": ADMIN}
    servers = []
    try:
        for name in ("a", "b"):
            servers.append(Gunicorn(tmp_path / f"{name}.log", entries(openai_upstream),
                                    args=["-w", "2"], env=env))
        yield servers
    finally:
        for server in servers:
            server.stop()


def chat(server, body=HI) -> requests.Response:
    return requests.post(server.base + "/chat/completions", json=body, timeout=30)


def admin(server, method, path, body=None) -> requests.Response:
    return requests.request(method, server.url + path, json=body, timeout=30,
                            headers={"Authorization": f"Bearer {ADMIN}"})


def keys_of(server) -> list[dict]:
    return admin(server, "GET", "/api/keys").json()["keys"]


def test_requests_alternating_between_processes_rotate_in_exact_order(pair, openai_upstream):
    for i in range(12):
        assert chat(pair[i % 2]).status_code == 200
    assert openai_upstream.keys_used() == [good_key(i % 3) for i in range(12)]


def test_concurrent_requests_through_both_processes_give_each_key_its_share(pair,
                                                                            openai_upstream):
    failures = []

    def client(i):
        session = requests.Session()  # kept alive: several workers answer over time
        for _ in range(15):
            resp = session.post(pair[i % 2].base + "/chat/completions", json=HI, timeout=30)
            if resp.status_code != 200:
                failures.append(resp.status_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    assert Counter(openai_upstream.keys_used()) == {good_key(i): 40 for i in range(3)}
    # Both processes show the same keys with the totals the upstream saw.
    views = [sorted((k["id"], k["stats"]["requests"], k["stats"]["successes"],
                     k["stats"]["prompt_tokens"]) for k in keys_of(s)) for s in pair]
    assert views[0] == views[1]
    assert [v[1:] for v in views[0]] == [(40, 40, 40 * 11)] * 3


def test_metrics_of_either_process_sum_its_workers(pair):
    for _ in range(10):
        assert chat(pair[0]).status_code == 200
    for _ in range(5):
        metrics = requests.get(pair[0].url + "/metrics", timeout=10).text
        assert _sample(metrics, 'llm_proxy_requests_total{format="openai-chat",model="gpt-4o",'
                                'provider="openai",status_class="2xx",stream="false"}') == 10
    assert 'llm_proxy_keys{state="active"} 3.0' in metrics
    assert "llm_proxy_shared_state_up 1.0" in metrics


def _sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in the scrape")


def test_admin_changes_through_one_process_hold_on_the_other_at_once(pair, openai_upstream):
    a, b = pair
    created = admin(a, "POST", "/api/keys", {"provider": "openai", "model": "gpt-4o",
                                             "api_key": good_key(5),
                                             "base_url": openai_upstream.base_url})
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert new_id in {k["id"] for k in keys_of(b)}
    for _ in range(4):
        assert chat(b).status_code == 200
    assert good_key(5) in openai_upstream.keys_used()
    # Disabled through b: a never uses it again.
    assert admin(b, "PATCH", f"/api/keys/{new_id}", {"enabled": False}).status_code == 200
    before = len(openai_upstream.calls)
    for _ in range(6):
        assert chat(a).status_code == 200
    assert good_key(5) not in openai_upstream.keys_used()[before:]
    # Deleted through a: gone from b's list.
    assert admin(a, "DELETE", f"/api/keys/{new_id}").status_code == 204
    assert new_id not in {k["id"] for k in keys_of(b)}
    assert admin(b, "GET", f"/api/keys/{new_id}").status_code == 404


def test_a_rate_limit_met_through_one_process_is_honoured_by_the_other(pair, openai_upstream):
    a, b = pair
    openai_upstream.fail(good_key(0), Reply(429, {"error": {
        "message": "Rate limit reached.", "type": "requests", "param": None,
        "code": "rate_limit_exceeded"}}, headers={"Retry-After": "120"}), times=1)
    assert chat(a).status_code == 200  # key 0 refused, key 1 served
    before = len(openai_upstream.calls)
    for _ in range(6):
        assert chat(b).status_code == 200
    assert good_key(0) not in openai_upstream.keys_used()[before:]
    assert sorted(k["status"] for k in keys_of(b)) == ["active", "active", "cooling_down"]


def test_an_invalid_key_met_through_one_process_is_skipped_by_the_other(pair, openai_upstream):
    a, b = pair
    openai_upstream.valid_keys.discard(good_key(1))
    for _ in range(2):
        assert chat(a).status_code == 200
    before = len(openai_upstream.calls)
    for _ in range(6):
        assert chat(b).status_code == 200
    assert good_key(1) not in openai_upstream.keys_used()[before:]
    assert sorted(k["status"] for k in keys_of(b)) == ["active", "active", "invalid"]
