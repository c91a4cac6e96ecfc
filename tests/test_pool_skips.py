"""Why an acquire passed over a key: the Skip values on the lease and on the pool's errors,
from the in-process store and from the Redis store alike."""
from __future__ import annotations

import pytest

from llm_proxy.errors import AUTH, RATE_LIMITED, AllKeysCoolingDown, NoUsableKey
from llm_proxy.pool import (OK, SKIP_COOLING, SKIP_DISABLED, SKIP_INVALID, KeyPool, Outcome,
                            Skip)
from llm_proxy.pool.redis_store import RedisKeyPool
from redis_server import redis_server  # noqa: F401  (fixture)

NOW = 1_800_000_000.0


def entries(n: int) -> list[dict]:
    return [{"provider": "openai", "model": "m", "api_key": f"sk-skip-{i}-0123456789abcdef",
             "base_url": "http://127.0.0.1:9/v1"} for i in range(n)]


@pytest.fixture(params=["memory", "redis"])
def make_pool(request):
    clock = [NOW]

    def make(n: int):
        if request.param == "memory":
            return KeyPool(entries(n), clock=lambda: clock[0])
        server = request.getfixturevalue("redis_server")
        return RedisKeyPool(entries(n), url=server.url, prefix="skip-test",
                            secret_material="skip-test-material-0123456789",
                            clock=lambda: clock[0])
    make.clock = clock
    return make


def ids(pool) -> list[str]:
    return [k.id for k in sorted(pool.keys(), key=lambda k: k.api_key)]


def mark(pool, key_id: str, outcome: Outcome) -> None:
    pool.report(pool.lease(key_id), outcome)


def test_a_lease_carries_the_keys_passed_over_before_it_with_their_reasons(make_pool):
    pool = make_pool(4)
    k0, k1, k2, k3 = ids(pool)
    mark(pool, k1, Outcome(RATE_LIMITED, retry_after=30))
    mark(pool, k2, Outcome(AUTH))
    pool.update(k3, {"enabled": False})
    first = pool.acquire("m")
    assert (first.id, first.skipped) == (k0, ())
    second = pool.acquire("m")
    assert second.id == k0
    assert [s[:2] for s in second.skipped] == [(k1, SKIP_COOLING), (k2, SKIP_INVALID),
                                               (k3, SKIP_DISABLED)]
    assert second.skipped[0].until == pytest.approx(NOW + 30)
    assert second.skipped[1:] == (Skip(k2, SKIP_INVALID), Skip(k3, SKIP_DISABLED))


def test_a_lease_found_at_once_skips_nothing(make_pool):
    pool = make_pool(3)
    leases = [pool.acquire("m") for _ in range(6)]
    assert [lease.skipped for lease in leases] == [()] * 6
    for lease in leases:
        pool.report(lease, Outcome(OK))


def test_the_errors_carry_the_skips_and_excluded_keys_are_not_among_them(make_pool):
    pool = make_pool(3)
    k0, k1, k2 = ids(pool)
    mark(pool, k1, Outcome(RATE_LIMITED, retry_after=30))
    mark(pool, k2, Outcome(RATE_LIMITED, retry_after=90))
    with pytest.raises(AllKeysCoolingDown) as cooling:
        pool.acquire("m", {k0})
    assert [s[:2] for s in cooling.value.skipped] == [(k1, SKIP_COOLING), (k2, SKIP_COOLING)]
    assert cooling.value.retry_after == pytest.approx(30)

    mark(pool, k1, Outcome(AUTH))
    pool.update(k2, {"enabled": False})
    with pytest.raises(NoUsableKey) as unusable:
        pool.acquire("m", {k0})
    assert sorted(unusable.value.skipped) == [Skip(k1, SKIP_INVALID), Skip(k2, SKIP_DISABLED)]


def test_every_key_excluded_is_nothing_to_skip(make_pool):
    pool = make_pool(2)
    assert pool.acquire("m", set(ids(pool))) is None


def test_a_first_acquire_with_every_key_cooling_names_them_all(make_pool):
    pool = make_pool(2)
    k0, k1 = ids(pool)
    mark(pool, k0, Outcome(RATE_LIMITED, retry_after=10))
    mark(pool, k1, Outcome(RATE_LIMITED, retry_after=20))
    with pytest.raises(AllKeysCoolingDown) as cooling:
        pool.acquire("m")
    assert {s.key_id: s.until for s in cooling.value.skipped} == pytest.approx(
        {k0: NOW + 10, k1: NOW + 20})
    make_pool.clock[0] = NOW + 15  # one of them is back
    assert [(lease.id, [s[:2] for s in lease.skipped])
            for lease in (pool.acquire("m"), pool.acquire("m"))] == [
        (k0, []), (k0, [(k1, SKIP_COOLING)])]
