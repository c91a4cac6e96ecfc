"""Gunicorn settings for llm-proxy; override them the gunicorn way (flags, GUNICORN_CMD_ARGS)."""
import os
import secrets
import sys

from llm_proxy.config import Config, ConfigError, load_environment

_env = load_environment()

# Check the configuration in the master, before any worker exists: a bad LLM_KEYS stops
# the start with one line and a non-zero exit instead of a worker respawn loop.
try:
    Config.from_env()
except ConfigError as _exc:
    print(f"llm-proxy: configuration error: {_exc}", file=sys.stderr, flush=True)
    sys.exit(1)

bind = f"0.0.0.0:{_env.get('PORT', '7788').strip() or '7788'}"

# The key pool (rotation order, cooldowns, statistics, admin edits) lives in the memory of
# one process, so one worker; threads carry the concurrency. Each open stream holds a
# thread for its whole length.
workers = 1
worker_class = "llm_proxy.gunicorn_worker.KeepAliveThreadWorker"
threads = int(_env.get("GUNICORN_THREADS", "1024"))
worker_connections = 4096

# gthread's heartbeat runs beside the request threads, so `timeout` does not cut long
# streams; it only catches a worker that stopped responding altogether.
timeout = 120
# On SIGTERM, open streams get this long to finish before the worker is stopped.
graceful_timeout = 120
keepalive = 75

# One line per request comes from the application (with model, key id, latency). When
# the access log is turned on (--access-logfile -), %(U)s logs the path without the
# query string, and no header is logged: nothing that could carry a secret.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

# Behind a reverse proxy, set FORWARDED_ALLOW_IPS to its address so gunicorn trusts
# its X-Forwarded-* headers.
forwarded_allow_ips = _env.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# One admin token for every worker: generated here, in the master, when none is set.
if not _env.get("ADMIN_TOKEN", "").strip():
    os.environ["ADMIN_TOKEN"] = secrets.token_urlsafe(32)
    _generated_token = True
else:
    _generated_token = False


def when_ready(server):
    if _generated_token:
        server.log.warning("ADMIN_TOKEN not set; generated one for this run. Web UI: "
                           "http://%s/static/index.html#token=%s",
                           _ui_host(server.address), os.environ["ADMIN_TOKEN"])


def _ui_host(addresses) -> str:
    """host:port of the first TCP address bound, as a browser on this machine reaches it."""
    for address in addresses or ():
        if isinstance(address, tuple) and len(address) >= 2:  # unix sockets are strings
            host, port = address[:2]
            if host in ("0.0.0.0", "::", ""):
                host = "localhost"
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"localhost:{_env.get('PORT', '7788').strip() or '7788'}"
