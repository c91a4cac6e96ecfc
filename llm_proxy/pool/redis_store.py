"""The shared store: the pool in Redis, one atomic script per acquire and per report.

Every worker of every host with the same REDIS_URL and REDIS_PREFIX sees one rotation,
one set of cooldowns, marks, flags and statistics (the layout is in redis_scripts). Each
process also keeps the last keys it knew in an in-process store: while Redis cannot be
reached it serves from those, with its own rotation and cooldowns, refuses admin writes
(503), and a probe thread rejoins as soon as Redis answers again.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import RATE_LIMITED, Conflict, ModelNotFound, NoUsableKey, NotFound, SharedStateUnavailable
from ..redaction import mask_echoes
from . import health as policy
from . import stats
from .base import PoolReads, exhausted
from .health import ERROR_COOLDOWN_BASE, ERROR_COOLDOWN_MAX, Health
from .lease import NOT_SENT, Lease, Outcome, Skip
from ..key_entries import ROUTING_FIELDS
from .memory import REDEFINING, RENEWING, KeyPool, new_key
from .records import Key
from .redis_scripts import ACQUIRE, ADD, DELETE, REPORT, RESET, UPDATE
from .secret_box import SecretBox
from .stats import LAST_ERROR_CHARS, KeyStats

log = logging.getLogger(__name__)

# Every call is bounded: a slow Redis costs a request at most this, once, before the
# process falls back to its own copy of the keys.
REDIS_TIMEOUT = 0.5
# How often a process that lost Redis tries it again.
REJOIN_INTERVAL = 1.0

# A replica that cannot take writes, or a Redis out of memory, serves the pool no better
# than one that is gone.
_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
         redis.exceptions.ReadOnlyError, redis.exceptions.OutOfMemoryError, OSError)
_STAT_FIELDS = ("requests", "successes", "failures", "prompt_tokens", "completion_tokens")


class RedisKeyPool(PoolReads):
    """The pool's interface over Redis, with the in-process store as the fallback."""

    def __init__(self, entries=(), *, url: str, prefix: str, secret_material: str,
                 default_cooldown: float = 60.0, clock=time.time, on_state_change=None,
                 timeout: float = REDIS_TIMEOUT):
        self.prefix = prefix
        self.default_cooldown = default_cooldown
        self._clock = clock
        self._on_state_change = on_state_change
        self._entries = list(entries)
        self._box = SecretBox(secret_material)
        # One retry when the connection was found broken (a restarted Redis), never after
        # a timeout: the script may have run, and running it again would take a second
        # turn of the rotation or count an outcome twice.
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
            health_check_interval=0, decode_responses=True)
        r = self._redis
        self._scripts = _Scripts(r)
        self._acquire = self._scripts.bind(ACQUIRE)
        self._report = self._scripts.bind(REPORT)
        self._add = self._scripts.bind(ADD)
        self._update = self._scripts.bind(UPDATE)
        self._delete = self._scripts.bind(DELETE)
        self._reset = self._scripts.bind(RESET)
        # The last keys known, served from while Redis is away.
        self._local = KeyPool(entries, default_cooldown=default_cooldown, clock=clock,
                             on_state_change=on_state_change)
        self._version: str | None = None
        self._up = False
        self._state_lock = threading.Lock()
        self._rejoining = False
        try:
            self._join()
        except _DOWN:
            self._lost("at start")

    # -- state of the connection ------------------------------------------------------------

    @property
    def shared(self) -> bool:
        """True while Redis answers: every process shares one pool."""
        return self._up

    def _join(self) -> None:
        self.seed()
        self._refresh_local()
        with self._state_lock:
            self._up = True

    def _lost(self, when: str) -> None:
        with self._state_lock:
            was_up, self._up = self._up, False
            start = not self._rejoining
            self._rejoining = True
        if was_up or when == "at start":
            log.warning("shared state unavailable (%s): serving from the last %d keys "
                        "known, with this process's own rotation; admin changes refused",
                        when, len(self._local.secrets()))
        if start:
            threading.Thread(target=self._rejoin, name="llm-proxy-redis-rejoin",
                             daemon=True).start()

    def _rejoin(self) -> None:
        while True:
            time.sleep(REJOIN_INTERVAL)
            try:
                self.seed()
                self._refresh_local()
            except _DOWN:
                continue
            except Exception:  # noqa: BLE001 - keep trying; never kill the probe
                log.exception("shared state rejoin failed")
                continue
            # Up and no longer rejoining in one step: a failure noticed after it starts a
            # new probe, one noticed before it finds this probe still running.
            with self._state_lock:
                self._up = True
                self._rejoining = False
            log.warning("shared state available again: the pool is shared")
            return

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # -- attempts -----------------------------------------------------------------------------

    def acquire(self, model: str, exclude=frozenset()) -> Lease | None:
        if not self._up:
            return self._local.acquire(model, exclude)
        now = self._clock()
        keys = [self._k("ring", model), self._k("last", model), self._k("seeded"),
                self._k("version")]
        args = [self.prefix, repr(now), *exclude]
        try:
            reply = self._acquire(keys=keys, args=args)
            if reply[0] == 3:  # flushed: seed again, then take the turn
                self.seed()
                reply = self._acquire(keys=keys, args=args)
        except _DOWN:
            self._lost("during a request")
            return self._local.acquire(model, exclude)
        if reply[1] != self._version:
            self._refresh_local_quietly()
        if reply[0] == 1:
            (key_id, provider, key_model, base_url, generation, sealed, upstream_model,
             api_version) = reply[2:10]
            secret = self._box.open(sealed, key_id)
            if secret is None:
                # Sealed with other material: this process cannot use the key.
                log.error("key secret unreadable key=%s: ENCRYPTION_KEY (or ADMIN_TOKEN) "
                          "differs from the process that stored it", key_id)
                lease = self.acquire(model, {*exclude, key_id})
                if lease is None and not exclude:
                    # The first attempt must get a key or an error, never nothing.
                    raise NoUsableKey(f"No key of model '{model}' can be read by this "
                                      "process (ENCRYPTION_KEY or ADMIN_TOKEN differs).")
                return lease
            return Lease(id=key_id, generation=int(generation), provider=provider,
                         model=key_model, api_key=secret, base_url=base_url or None,
                         upstream_model=upstream_model or None,
                         api_version=api_version or None, skipped=_skips(reply, 10))
        if reply[0] == 0:
            raise ModelNotFound(f"The model '{model}' does not exist or has no key "
                                "configured in this proxy.", param="model")
        error = exhausted(model, _skips(reply, 2), now)
        if error is None:
            return None
        raise error

    def report(self, lease: Lease, outcome: Outcome) -> None:
        if not self._up:
            self._local.report(lease, outcome)
            return
        now = self._clock()
        change = policy.change_for(outcome, now, self.default_cooldown)
        last_error = ""
        if not outcome.served and outcome.kind != NOT_SENT:
            last_error = outcome.kind
            if outcome.message:
                last_error = mask_echoes(outcome.message, lease.api_key)[:LAST_ERROR_CHARS]
        counts = stats.increments(outcome)
        pairs = []
        for name, value in counts.items():
            pairs += ["fk:" + name[17:] if name.startswith("failures_by_kind.") else name,
                      value]
        try:
            reply = self._report(keys=[self._k("key", lease.id)], args=[
                lease.generation, repr(now), int(change.clear), int(change.invalidate),
                repr(change.cool_until), int(change.backoff), int(change.reset_streak),
                repr(ERROR_COOLDOWN_BASE), repr(ERROR_COOLDOWN_MAX), last_error,
                "1" if outcome.kind == RATE_LIMITED else "0", self.prefix, *pairs])
        except _DOWN:
            self._lost("during a report")
            self._local.report(lease, outcome)
            return
        if reply and self._on_state_change:
            old = policy.status(True, Health(reply[0] == "1", float(reply[1])), now)
            new = policy.status(True, Health(reply[2] == "1", float(reply[3])), now)
            if old != new:
                reason = "check" if outcome.check and outcome.served else outcome.kind
                self._on_state_change(self._local_or_lease(lease), old, new, reason)

    def soonest_recovery(self, model: str) -> float | None:
        now = self._clock()
        keys = [k for k in self.keys() if k.model == model]
        if not keys or any(k.usable(now) for k in keys):
            return None
        waits = [w for w in (policy.recovery_wait(k.enabled, k.health, now) for k in keys)
                 if w is not None]
        return min(waits) if waits else None

    # -- reading ----------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def keys(self) -> list[Key]:
        if not self._up:
            return self._local.keys()
        try:
            return self._read_keys()
        except _DOWN:
            self._lost("reading keys")
            return self._local.keys()

    def get(self, key_id: str) -> Key:
        for key in self.keys():
            if key.id == key_id:
                return key
        raise NotFound("No key with this id.", code="key_not_found")

    def models(self) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for key in self.keys():
            seen.setdefault(key.model, key.provider)
        return list(seen.items())

    def secrets(self) -> list[str]:
        # The local copy holds every secret this process has known; a secret added
        # elsewhere a moment ago reaches it with the next version change.
        return self._local.secrets()

    # -- changes ----------------------------------------------------------------------------

    def add(self, entries: list[dict], source: str = "api") -> list[Key]:
        self._writable()
        records = [new_key(e, source=source) for e in entries]
        for record in records:
            if source != "env":
                record.id = uuid.uuid4().hex[:12]
        reply = self._call(self._add, keys=[self._k("ident"), self._k("ids"),
                                            self._k("version"), self._k("seeded")],
                           args=[self.prefix, "0", *self._entry_args(records)])
        if reply[0] == -1:
            where = f"entry {reply[1]}: " if len(records) > 1 else ""
            raise Conflict(f"{where}a key with this provider, model and api_key already "
                           "exists.", code="duplicate_key")
        self._refresh_local_quietly()
        return [k.copy() for k in records]

    def update(self, key_id: str, changes: dict) -> Key:
        self._writable()
        key = self.get(key_id)
        fields: list = []
        for name in ("model", "base_url", *ROUTING_FIELDS, "enabled"):
            if name in changes:
                value = changes[name]
                fields += [name, ("1" if value else "0") if name == "enabled"
                           else _field_text(value)]
        secret = changes.get("api_key", key.api_key)
        model = changes.get("model", key.model)
        if "api_key" in changes:
            fields += ["secret", self._box.seal(secret, key_id)]
        if "api_key" in changes or "model" in changes:
            fields += ["ident", self._box.digest(key.provider, model, secret)]
        edited = any(f in changes and changes[f] != getattr(key, f) for f in RENEWING)
        if any(f in changes and changes[f] != getattr(key, f) for f in REDEFINING):
            fields += ["source", "api"]  # no longer the key LLM_KEYS describes
        reply = self._call(self._update, keys=[self._k("ident"), self._k("version")],
                           args=[self.prefix, key_id, *fields, "--", int(edited),
                                 int(changes.get("enabled") is True)])
        if reply == 0:
            raise NotFound("No key with this id.", code="key_not_found")
        if reply == -1:
            raise Conflict("a key with this provider, model and api_key already exists.",
                           code="duplicate_key")
        self._refresh_local_quietly()
        return self._local.get(key_id)  # just read back from Redis

    def delete(self, key_id: str) -> None:
        self._writable()
        if not self._delete_ids([key_id]):
            raise NotFound("No key with this id.", code="key_not_found")

    def delete_matching(self, provider: str, model: str, api_key: str | None = None) -> int:
        self._writable()
        doomed = [k.id for k in self.keys() if k.provider == provider and k.model == model
                  and (api_key is None or k.api_key == api_key)]
        return self._delete_ids(doomed) if doomed else 0

    def reset(self, key_id: str) -> Key:
        self._writable()
        reply = self._call(self._reset, keys=[self._k("key", key_id), self._k("version")],
                           args=[])
        if not reply:
            raise NotFound("No key with this id.", code="key_not_found")
        self._refresh_local_quietly()
        key = self._local.get(key_id)  # just read back from Redis
        now = self._clock()
        old = policy.status(key.enabled, Health(reply[0] == "1", float(reply[1])), now)
        new = key.status(now)
        if old != new and self._on_state_change:
            self._on_state_change(key, old, new, "reset")
        return key

    def seed(self) -> None:
        """Merge LLM_KEYS in (same stable ids; their secret and base_url win)."""
        records, seen = [], set()
        for entry in self._entries:
            record = new_key(entry, source="env")
            if record.identity() not in seen:
                seen.add(record.identity())
                records.append(record)
        self._add(keys=[self._k("ident"), self._k("ids"), self._k("version"),
                        self._k("seeded")],
                  args=[self.prefix, "1", *self._entry_args(records)])

    # -- internals ----------------------------------------------------------------------------

    def _writable(self) -> None:
        if not self._up:
            raise SharedStateUnavailable()

    def _call(self, script, keys, args):
        try:
            return script(keys=keys, args=args)
        except _DOWN:
            self._lost("during an admin change")
            raise SharedStateUnavailable() from None

    def _delete_ids(self, ids: list[str]) -> int:
        deleted = self._call(self._delete, keys=[self._k("ident"), self._k("ids"),
                                                 self._k("version")],
                             args=[self.prefix, *ids])
        self._refresh_local_quietly()
        return int(deleted)

    def _entry_args(self, records: list[Key]) -> list:
        args: list = []
        for record in records:
            args += [record.id, self._box.digest(*record.identity()), record.provider,
                     record.model, record.base_url or "", "1" if record.enabled else "0",
                     record.source, self._box.seal(record.api_key, record.id),
                     *(_field_text(getattr(record, name)) for name in ROUTING_FIELDS)]
        return args

    def _read_keys(self) -> list[Key]:
        pipe = self._redis.pipeline(transaction=False)
        pipe.exists(self._k("seeded"))
        pipe.zrange(self._k("ids"), 0, -1)
        seeded, ids = pipe.execute()
        if not seeded:  # a flushed (or new) Redis: LLM_KEYS are merged in again first
            self.seed()
            ids = self._redis.zrange(self._k("ids"), 0, -1)
        if not ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for key_id in ids:
            pipe.hgetall(self._k("key", key_id))
        out = []
        for key_id, fields in zip(ids, pipe.execute()):
            if not fields:
                continue
            secret = self._box.open(fields.get("secret", ""), key_id)
            if secret is None:
                continue  # sealed with other material: not usable here
            out.append(_record(key_id, fields, secret))
        return out

    def _refresh_local(self) -> None:
        counter, epoch = self._redis.mget(self._k("version"), self._k("seeded"))
        self._local.load(self._read_keys())
        # As ACQUIRE spells it: the counter starts again after a flush, the epoch does not.
        self._version = f"{counter or '0'}/{epoch or ''}"

    def _refresh_local_quietly(self) -> None:
        try:
            self._refresh_local()
        except _DOWN:
            self._lost("refreshing keys")

    def _local_or_lease(self, lease: Lease):
        try:
            return self._local.get(lease.id)
        except NotFound:
            return Key(id=lease.id, provider=lease.provider, model=lease.model,
                       api_key=lease.api_key, base_url=lease.base_url)


class _Scripts:
    """Runs the Lua scripts on connections of its own, straight through redis-py's
    Connection (send_command, read_response).

    The client's command path (connection pool, retry wrapper, response callbacks) costs
    more CPU than the script itself: measured 135 against 57 us per call here. Idle
    connections wait in a list (append and pop are atomic), so there are only as many as
    calls ever ran at once.
    """

    def __init__(self, client: redis.Redis):
        self._pool = client.connection_pool
        self._idle: list = []

    def bind(self, source: str):
        sha = hashlib.sha1(source.encode()).hexdigest()

        def run(keys, args):
            return self._run(source, sha, keys, args)
        return run

    def _run(self, source: str, sha: str, keys: list, args: list):
        try:
            conn = self._idle.pop()
        except IndexError:
            conn = self._pool.make_connection()
        try:
            try:
                reply = self._send(conn, sha, source, keys, args)
            except redis.exceptions.ConnectionError:
                # A kept connection dies with a restarted Redis, which never ran the
                # script: one try on a new one. Never after a timeout (it may have run).
                conn.disconnect()
                reply = self._send(conn, sha, source, keys, args)
        except BaseException:
            conn.disconnect()
            raise
        self._idle.append(conn)
        return reply

    @staticmethod
    def _send(conn, sha: str, source: str, keys: list, args: list):
        conn.send_command("EVALSHA", sha, len(keys), *keys, *args)
        try:
            return conn.read_response()
        except redis.exceptions.NoScriptError:  # a new or flushed Redis: load it once
            conn.send_command("EVAL", source, len(keys), *keys, *args)
            return conn.read_response()


def _field_text(value) -> str:
    """A key field as its hash stores it: '' for one not set."""
    return "" if value is None else str(value)


def _skips(reply: list, start: int) -> tuple:
    """The skip triples ACQUIRE appended to its reply from `start` on, as Skip values."""
    if len(reply) <= start:
        return ()
    return tuple(Skip(reply[i], reply[i + 1], float(reply[i + 2]) if reply[i + 2] else None)
                 for i in range(start, len(reply) - 2, 3))


def _record(key_id: str, f: dict, secret: str) -> Key:
    by_kind = {name[3:]: int(value) for name, value in f.items() if name.startswith("fk:")}
    key_stats = KeyStats(**{name: int(f.get(name) or 0) for name in _STAT_FIELDS},
                         failures_by_kind=by_kind,
                         last_used=float(f["last_used"]) if f.get("last_used") else None,
                         last_error=f.get("last_error") or None)
    return Key(id=key_id, provider=f["provider"], model=f["model"], api_key=secret,
               base_url=f.get("base_url") or None,
               upstream_model=f.get("upstream_model") or None,
               api_version=f.get("api_version") or None,
               rpm=int(f["rpm"]) if f.get("rpm") else None,
               quota_group=f.get("quota_group") or None, enabled=f.get("enabled") == "1",
               source=f.get("source", "api"), generation=int(f.get("generation") or 0),
               health=Health(f.get("invalid") == "1", float(f.get("cooldown_until") or 0),
                             int(f.get("failure_streak") or 0)),
               stats=key_stats)
