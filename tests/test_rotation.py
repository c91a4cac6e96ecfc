"""Round-robin rotation: exact order, exact counts under threads, safe rebuilds, keep-alive."""
import threading
from collections import Counter

import pytest
import requests
from conftest import good_key, key_entries

from llm_proxy.pool import KeyPool

HELLO = [{"role": "user", "content": "hi"}]


def run_threads(count, target):
    errors = []

    def guarded(i):
        try:
            target(i)
        except BaseException as exc:  # surfaced below, with the thread's own error
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]


# -- over real HTTP -------------------------------------------------------------------------

@pytest.mark.parametrize("n", [30, 31])
def test_sequential_requests_rotate_in_order(make_proxy, openai_upstream, n):
    proxy = make_proxy(key_entries(openai_upstream, 3))
    client = proxy.openai()
    for _ in range(n):
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    used = openai_upstream.keys_used()
    assert used == [good_key(i % 3) for i in range(n)]
    counts = sorted(Counter(used).values())
    assert counts[-1] - counts[0] <= 1


def test_streams_and_plain_requests_share_one_rotation(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 3))
    client = proxy.openai()
    for i in range(9):
        if i % 2:
            list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
        else:
            client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert openai_upstream.keys_used() == [good_key(i % 3) for i in range(9)]


def test_each_model_has_its_own_rotation(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 2, model="a") +
                       key_entries(openai_upstream, 3, model="b", first=2))
    client = proxy.openai()
    for model in "abbabab":
        client.chat.completions.create(model=model, messages=HELLO)
    used = openai_upstream.keys_used()
    assert [k for k, m in zip(used, "abbabab") if m == "a"] == [good_key(0), good_key(1),
                                                               good_key(0)]
    assert [k for k, m in zip(used, "abbabab") if m == "b"] == [good_key(2), good_key(3),
                                                               good_key(4), good_key(2)]


def test_eight_threads_get_exact_counts_per_key(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 3))
    per_thread = 30

    def worker(i):
        client = proxy.openai()
        for j in range(per_thread):
            if j % 3 == i % 3:
                text = "".join(c.choices[0].delta.content or "" for c in
                               client.chat.completions.create(model="gpt-4o", messages=HELLO,
                                                              stream=True) if c.choices)
            else:
                text = client.chat.completions.create(
                    model="gpt-4o", messages=HELLO).choices[0].message.content
            assert text == "Hello from the fake."

    run_threads(8, worker)
    counts = Counter(openai_upstream.keys_used())
    assert counts == {good_key(0): 80, good_key(1): 80, good_key(2): 80}
    stats = {k.api_key: (k.stats.requests, k.stats.successes) for k in proxy.pool.keys()}
    assert stats == {good_key(i): (80, 80) for i in range(3)}


def test_keys_added_edited_and_removed_between_requests(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 3))
    client = proxy.openai()

    def next_keys(n):
        start = len(openai_upstream.calls)
        for _ in range(n):
            client.chat.completions.create(model="gpt-4o", messages=HELLO)
        return openai_upstream.keys_used()[start:]

    assert next_keys(2) == [good_key(0), good_key(1)]
    resp = proxy.admin("POST", "/api/keys", {"provider": "openai", "model": "gpt-4o",
                                             "api_key": good_key(3),
                                             "base_url": openai_upstream.base_url})
    assert resp.status_code == 201, resp.text
    added = resp.json()
    added_id = (added["keys"][0] if "keys" in added else added)["id"]
    # The rotation goes on after key 1: nobody's turn is repeated or skipped.
    assert next_keys(4) == [good_key(2), good_key(3), good_key(0), good_key(1)]
    ids = {k.api_key: k.id for k in proxy.pool.keys()}
    assert proxy.admin("PATCH", f"/api/keys/{ids[good_key(2)]}",
                       {"enabled": False}).status_code == 200
    assert next_keys(3) == [good_key(3), good_key(0), good_key(1)]
    assert proxy.admin("DELETE", f"/api/keys/{added_id}").status_code == 204
    assert next_keys(3) == [good_key(0), good_key(1), good_key(0)]


def test_changes_while_requests_are_in_flight_break_nothing(make_proxy, openai_upstream):
    openai_upstream.stream_interval = 0.001
    proxy = make_proxy(key_entries(openai_upstream, 3))
    stop = threading.Event()
    statuses = Counter()

    def churn():
        extra = {"provider": "openai", "model": "gpt-4o", "api_key": good_key(5),
                 "base_url": openai_upstream.base_url}
        while not stop.is_set():
            [key] = proxy.pool.add([extra], source="api")
            proxy.pool.update(key.id, {"base_url": openai_upstream.base_url})
            proxy.pool.delete(key.id)

    def worker(i):
        for j in range(20):
            body = {"model": "gpt-4o", "messages": HELLO, "stream": bool(j % 2)}
            resp = requests.post(proxy.base + "/chat/completions", json=body, timeout=30)
            statuses[resp.status_code] += 1
            assert resp.status_code == 200, resp.text

    churner = threading.Thread(target=churn)
    churner.start()
    try:
        run_threads(8, worker)
    finally:
        stop.set()
        churner.join()
    assert statuses == {200: 160}
    counts = Counter(openai_upstream.keys_used())
    assert sum(counts.values()) == 160
    assert all(counts[good_key(i)] > 0 for i in range(3))


# -- the pool itself under heavy contention ---------------------------------------------------

def test_pool_rotation_is_exact_under_contention():
    pool = KeyPool([{"provider": "openai", "model": "m", "api_key": f"sk-{i}-0123456789"}
                    for i in range(3)])
    counts = Counter()
    lock = threading.Lock()

    def worker(_):
        local = Counter(pool.acquire("m").api_key for _ in range(3000))
        with lock:
            counts.update(local)

    run_threads(8, worker)
    assert counts == {f"sk-{i}-0123456789": 8000 for i in range(3)}


def test_pool_rebuild_resumes_after_the_key_served_last():
    pool = KeyPool([{"provider": "openai", "model": "m", "api_key": f"sk-{i}-0123456789"}
                    for i in range(3)])
    take = lambda n: [pool.acquire("m").api_key[:4] for _ in range(n)]  # noqa: E731
    assert take(2) == ["sk-0", "sk-1"]
    [extra] = pool.add([{"provider": "openai", "model": "m", "api_key": "sk-9-0123456789"}])
    assert take(5) == ["sk-2", "sk-9", "sk-0", "sk-1", "sk-2"]
    pool.update(extra.id, {"model": "other"})
    assert take(3) == ["sk-0", "sk-1", "sk-2"]
    assert [pool.acquire("other").api_key[:4] for _ in range(2)] == ["sk-9", "sk-9"]


def test_pool_rebuild_after_the_last_served_key_is_deleted_passes_the_turn_on():
    pool = KeyPool([{"provider": "openai", "model": "m", "api_key": f"sk-{i}-0123456789"}
                    for i in range(4)])
    take = lambda n: [pool.acquire("m").api_key[:4] for _ in range(n)]  # noqa: E731
    assert take(2) == ["sk-0", "sk-1"]
    pool.delete(next(k.id for k in pool.keys() if k.api_key.startswith("sk-1")))
    # A second rebuild before any request must not lose the place either.
    pool.add([{"provider": "openai", "model": "m", "api_key": "sk-9-0123456789"}])
    assert take(5) == ["sk-2", "sk-3", "sk-9", "sk-0", "sk-2"]


def test_pool_rebuild_after_deleting_the_last_served_key_then_adding_one():
    pool = KeyPool([{"provider": "openai", "model": "m", "api_key": f"sk-{i}-0123456789"}
                    for i in range(3)])
    take = lambda n: [pool.acquire("m").api_key[:4] for _ in range(n)]  # noqa: E731
    assert take(1) == ["sk-0"]
    pool.delete(next(k.id for k in pool.keys() if k.api_key.startswith("sk-0")))
    pool.add([{"provider": "openai", "model": "m", "api_key": "sk-9-0123456789"}])
    # sk-1 was next before the changes and stays next; the new key waits for its turn.
    assert take(4) == ["sk-1", "sk-2", "sk-9", "sk-1"]


def test_a_new_key_gets_the_same_turn_whatever_changed_before_it_came():
    def run(unrelated_change: bool) -> list:
        pool = KeyPool([{"provider": "openai", "model": "m", "api_key": f"sk-{i}-0123456789"}
                        for i in range(1, 3)])
        assert [pool.acquire("m").api_key[:4] for _ in range(2)] == ["sk-1", "sk-2"]
        if unrelated_change:  # a rebuild that touches nothing of model m
            pool.add([{"provider": "openai", "model": "other", "api_key": "sk-o-0123456789"}])
        pool.add([{"provider": "openai", "model": "m", "api_key": "sk-3-0123456789"}])
        return [pool.acquire("m").api_key[:4] for _ in range(3)]
    assert run(False) == run(True) == ["sk-3", "sk-1", "sk-2"]


# -- connection reuse (over gunicorn in test_gunicorn.py: the test server closes every
# client connection, so each request there runs in a thread of its own) -----------------------

def test_one_requests_session_per_thread():
    from llm_proxy.transport import session
    mine = session()
    assert session() is mine
    theirs = []
    run_threads(4, lambda _: theirs.append(session()))
    assert len({id(s) for s in theirs}) == 4 and mine not in theirs
