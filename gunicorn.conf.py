"""Gunicorn settings for llm-proxy; override them the gunicorn way (flags, GUNICORN_CMD_ARGS).

The figures quoted below come from `python bench/run.py` on a 2-core machine; see
bench/README.md for the full tables.
"""
import os
import secrets
import sys
import tempfile

from llm_proxy import loop_guard  # noqa: F401  (its id made here is every worker's)
from llm_proxy.config import Config, ConfigError
from llm_proxy.dotenv_file import load_environment

_env = load_environment()

# Check the configuration in the master, before any worker exists: a bad LLM_KEYS stops
# the start with one line and a non-zero exit instead of a worker respawn loop.
try:
    Config.from_env()
except ConfigError as _exc:
    print(f"llm-proxy: configuration error: {_exc}", file=sys.stderr, flush=True)
    sys.exit(1)



def _setting(name: str, default: int, minimum: int, maximum: int) -> int:
    """A whole-number setting from the environment, or one clear line and exit 1."""
    raw = _env.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        print(f"llm-proxy: configuration error: {name} must be a whole number from {minimum} "
              f"to {maximum}, got {raw!r}", file=sys.stderr, flush=True)
        sys.exit(1)
    return value


_port = _setting("PORT", 7788, 0, 65535)
bind = f"0.0.0.0:{_port}"

# -- workers ----------------------------------------------------------------------------
# Without REDIS_URL the key pool (rotation order, cooldowns, statistics, admin edits) lives
# in the memory of one process, so one worker; threads carry the concurrency. Several
# workers would each have a pool of their own (rotation per process, admin edits reaching
# one of them), so more than one is refused at start (on_starting below). With REDIS_URL
# the pool is shared, and one worker per CPU uses every core. WEB_CONCURRENCY (read here,
# since a value set in this file overrides gunicorn's own reading of it) and -w still win.
_shared_pool = bool(_env.get("REDIS_URL", "").strip())


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


if _env.get("WEB_CONCURRENCY", "").strip():
    workers = _setting("WEB_CONCURRENCY", 1, 1, 1024)
else:
    workers = _cpus() if _shared_pool else 1


def on_starting(server):
    # The final worker count (after -w, GUNICORN_CMD_ARGS) is known only here, in the
    # master, before any worker exists.
    if server.cfg.workers > 1 and not _shared_pool:
        print(f"llm-proxy: configuration error: {server.cfg.workers} workers need REDIS_URL: "
              "without it each worker keeps a key pool of its own (its own rotation, "
              "cooldowns and admin edits); run one worker, or set REDIS_URL to share the pool",
              file=sys.stderr, flush=True)
        sys.exit(1)
    if server.cfg.workers > 1:
        _multiprocess_metrics()


def _multiprocess_metrics() -> None:
    """prometheus_client's multiprocess mode: every worker's counters summed on /metrics."""
    directory = tempfile.mkdtemp(prefix="llm-proxy-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    import atexit
    import shutil
    atexit.register(shutil.rmtree, directory, True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)

# Stock gthread: the worker the design names, with nothing of gunicorn's patched.
# `-k llm_proxy.gunicorn_worker.KeepAliveThreadWorker` is a measured option: a gthread
# whose thread serves a connection's back-to-back keep-alive requests itself and sends a
# response's head with its first body piece (1,009 against 920 requests/s at concurrency
# 16, +0.54 against +0.76 ms at concurrency 1, same streams and memory; bench/README.md).
# It leans on gunicorn internals, hence opt-in.
worker_class = "gthread"

# Each open stream holds a thread for its whole length, so the thread count is the number
# of streams served at once; beyond it, new requests wait for a free thread. Threads are
# started on demand and an idle one costs almost nothing: 1,000 concurrent streams were
# held at 102-113 MB for the worker (36 MB idle). More threads do not speed up non-streamed
# traffic, which one process's CPU bounds (900-1,350 requests/s here).
threads = _setting("GUNICORN_THREADS", 1024, 1, 100_000)
# Open connections, streaming or kept alive between requests; above `threads` so that
# idle keep-alive connections never crowd out requests.
worker_connections = _setting("GUNICORN_WORKER_CONNECTIONS", 4096, 1, 1_000_000)

# gthread's heartbeat runs beside the request threads, so `timeout` does not cut long
# streams; it only restarts a worker whose process stopped responding altogether.
timeout = 120
# On SIGTERM the worker stops accepting and gives open requests this long to finish:
# long enough for a long generation to stream to its end. Give the container as long
# (`docker stop -t 300`, compose `stop_grace_period: 5m`, Kubernetes
# `terminationGracePeriodSeconds: 300`), or the runtime kills the process before.
graceful_timeout = _setting("GRACEFUL_TIMEOUT", 300, 0, 86_400)
# Longer than the 60 s idle timeout of most load balancers, so they close first and
# never send a request on a connection the proxy is closing.
keepalive = 75

# gunicorn's control socket (gunicornc) defaults to one path per user, which every gunicorn
# of that user on the host would share: each proxy gets its own, named by its master's pid.
control_socket = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir(),
                              f"llm-proxy-{os.getpid()}.ctl")

# -- logs ------------------------------------------------------------------------------
# One line per request comes from the application (with model, key id, attempts,
# latency), so gunicorn's access log is off. When it is turned on (--access-logfile -),
# %(U)s logs the path without the query string and no header is logged: nothing that
# could carry a secret.
accesslog = None
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

# gunicorn's own lines go to stdout with the application's; with LOG_FORMAT=json they
# (and the access log, when on) are JSON lines too. gunicorn's log flags still apply.
if _env.get("LOG_FORMAT", "text").strip().lower() == "json":
    logger_class = "llm_proxy.gunicorn_logging.JsonLogger"
else:
    logger_class = "llm_proxy.gunicorn_logging.StdoutLogger"

# -- behind a reverse proxy --------------------------------------------------------------
# gunicorn trusts X-Forwarded-For/-Proto only from these addresses. Behind nginx, Traefik
# or a cloud load balancer, set FORWARDED_ALLOW_IPS to its address (or network, e.g.
# 10.0.0.0/8), never to "*" when clients can reach the port directly.
forwarded_allow_ips = _env.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# -- CPU affinity (opt-in) -------------------------------------------------------------------
# A worker's threads take turns on one interpreter lock. Spread over several cores, every
# handover wakes a thread on another core; pinned to one core, handovers stay cheap:
# WORKER_CPU_AFFINITY=on measured 1,000-1,400 → 2,050 non-streamed requests/s at
# concurrency 16 (CPU per request ~1,000 → 490 µs). It is off by default because a burst
# of a thousand new streams arriving together (after hundreds of others) then took minutes
# to get going instead of seconds, and streams are this proxy's main traffic.
_pin = _env.get("WORKER_CPU_AFFINITY", "off").strip().lower() in ("on", "1", "true", "yes")


def post_fork(server, worker):
    if _pin and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            # Worker N on the N-th core from the last, so several workers spread out.
            os.sched_setaffinity(0, {cpus[-1 - (worker.age - 1) % len(cpus)]})


# One admin token for every worker: generated here, in the master, when none is set.
if not _env.get("ADMIN_TOKEN", "").strip():
    os.environ["ADMIN_TOKEN"] = secrets.token_urlsafe(32)
    _generated_token = True
else:
    _generated_token = False


def when_ready(server):
    page = f"http://{_ui_host(server.address)}/static/index.html"
    if _generated_token:
        server.log.warning("ADMIN_TOKEN not set; generated one for this run. Web UI: "
                           "%s#token=%s", page, os.environ["ADMIN_TOKEN"])
    else:
        server.log.info("Web UI: %s (sign in with ADMIN_TOKEN)", page)


def _ui_host(addresses) -> str:
    """host:port of the first TCP address bound, as a browser on this machine reaches it."""
    for address in addresses or ():
        if isinstance(address, tuple) and len(address) >= 2:  # unix sockets are strings
            host, port = address[:2]
            if host in ("0.0.0.0", "::", ""):
                host = "localhost"
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"localhost:{_port}"
