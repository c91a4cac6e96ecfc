"""The Redis store in this process against a real redis-server: flushes and rejoining."""
from __future__ import annotations

import threading
import time

import pytest

from llm_proxy.errors import ModelNotFound, NoUsableKey
from llm_proxy.pool import OK, Outcome
from llm_proxy.pool.redis_store import RedisKeyPool
from redis_server import redis_server  # noqa: F401  (fixture)

MATERIAL = "store-test-material-0123456789"


def entry(i: int) -> dict:
    return {"provider": "openai", "model": "gpt-4o", "api_key": f"sk-store-{i}-0123456789abcdef",
            "base_url": "http://127.0.0.1:9/v1"}


@pytest.fixture
def make_pool(redis_server):  # noqa: F811
    def make(entries=(entry(0),), **kwargs):
        return RedisKeyPool(list(entries), url=redis_server.url, prefix="store-test",
                            secret_material=MATERIAL, **kwargs)
    return make


def serve(pool, model: str = "gpt-4o") -> str:
    lease = pool.acquire(model)
    pool.report(lease, Outcome(OK))
    return lease.id


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_process_that_missed_a_flush_still_learns_keys_added_after_it(make_pool,
                                                                       redis_server):
    a, b = make_pool(), make_pool()
    b.add([entry(1)])
    serve(a)
    assert entry(1)["api_key"] in a.secrets()
    redis_server.cli("FLUSHALL")
    serve(b)  # b notices the flush and seeds LLM_KEYS again
    b.add([entry(2)])
    b.add([entry(3)])
    # The admin counter after the flush is back where a last saw it; a still refreshes.
    serve(a)
    assert sorted(a.secrets()) == sorted(e["api_key"] for e in (entry(0), entry(2), entry(3)))


def test_reads_right_after_a_flush_list_the_configured_keys(make_pool, redis_server):
    pool = make_pool([entry(0), entry(1)])
    added = pool.add([entry(2)])[0]
    ids = [k.id for k in pool.keys()]
    redis_server.cli("FLUSHALL")
    assert [k.id for k in pool.keys()] == ids[:2]  # the API-added key went with the data
    assert added.id not in {k.id for k in pool.keys()}
    assert redis_server.cli("EXISTS", "store-test:seeded").strip() == "1"
    assert [serve(pool) for _ in range(4)] == [ids[0], ids[1], ids[0], ids[1]]


def test_a_failure_met_while_rejoining_leaves_the_pool_trying_again(make_pool,
                                                                    redis_server):
    pool = make_pool()
    redis_server.kill()
    serve(pool)  # served from the last keys known; the rejoin probe starts
    assert not pool.shared

    class RedisFailsAgainAsTheProbeSucceeds:
        """The probe's state lock, with a request thread's failure just before it."""

        def __init__(self):
            self.lock, self.fired = threading.Lock(), False

        def __enter__(self):
            if threading.current_thread().name == "llm-proxy-redis-rejoin" and not self.fired:
                self.fired = True
                # A request that saw the pool up meets Redis gone once more.
                other = threading.Thread(target=pool._lost, args=("during a request",))
                other.start()
                other.join()
            self.lock.acquire()

        def __exit__(self, *exc):
            self.lock.release()

    pool._state_lock = RedisFailsAgainAsTheProbeSucceeds()
    redis_server.start()
    # Redis answers: whatever the probe met on the way, the pool is shared again.
    assert wait_until(lambda: pool.shared, 8), "the pool never rejoined"
    assert pool._state_lock.fired
    serve(pool)
    assert redis_server.cli("HGET", f"store-test:key:{pool.keys()[0].id}",
                            "requests").strip() == "1"


def test_an_unknown_model_after_a_flush_reseeds_without_turning_the_rotation(
        make_pool, redis_server):
    pool = make_pool([entry(0), entry(1)])
    first = serve(pool)
    redis_server.cli("FLUSHALL")
    with pytest.raises(ModelNotFound):
        pool.acquire("no-such-model")
    assert [k.stats.requests for k in pool.keys()] == [0, 0]
    assert serve(pool) == first  # a fresh ring starts at its first key


# Keeps Redis busy (it serves no one else meanwhile) for ARGV[1] seconds.
BUSY = """
local t = redis.call('TIME')
local start = t[1] + t[2] / 1e6
repeat t = redis.call('TIME') until t[1] + t[2] / 1e6 - start >= tonumber(ARGV[1])
return 1
"""


def test_a_request_that_times_out_on_a_busy_redis_takes_one_turn_at_most(make_pool,
                                                                         redis_server):
    pool = make_pool([entry(0), entry(1), entry(2)])
    first = serve(pool)
    busy = threading.Thread(target=redis_server.cli, args=("EVAL", BUSY, "0", "1.2"))
    busy.start()
    time.sleep(0.3)  # the busy script runs
    lease = pool.acquire("gpt-4o")  # longer than the store waits: served from its copy
    busy.join()
    assert lease is not None
    # Redis may run the timed-out call once it can, but never a second copy of it: one
    # turn for the first request, at most one for this one.
    turns = [int(redis_server.cli("HGET", f"store-test:key:{k.id}", "requests"))
             for k in pool.keys()]
    assert sum(turns) <= 2, turns
    assert pool.keys()[0].id == first


def test_a_process_with_other_key_material_gets_an_error_not_nothing(make_pool, redis_server):
    # Regression: the first acquire returned None when the one key could not be read, and
    # the attempt loop, which expects a key or an error on its first try, answered 500.
    make_pool([entry(0)])
    other = RedisKeyPool([], url=redis_server.url, prefix="store-test",
                         secret_material="other-material-0123456789")
    with pytest.raises(NoUsableKey):
        other.acquire("gpt-4o")
