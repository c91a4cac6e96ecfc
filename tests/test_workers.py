"""How many gunicorn workers serve: one per CPU with a shared pool, one without."""
from __future__ import annotations

import os
import subprocess
import time

import pytest
import requests
from gunicorn_process import (Gunicorn, clean_environment, conf_args, free_port,
                              gunicorn_command, scratch_dir)
from redis_server import redis_server  # noqa: F401  (fixture)


def run_to_exit(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(gunicorn_command() + ["wsgi:app", "-b", f"127.0.0.1:{free_port()}",
                                                "--no-control-socket", *conf_args(), *args],
                          cwd=scratch_dir(), env=clean_environment(**env),
                          capture_output=True, text=True, timeout=60)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("llm-proxy: configuration error: ")
    return lines[0]


@pytest.mark.parametrize("how", [("-w", "2"), ("--workers", "3"), "WEB_CONCURRENCY"])
def test_several_workers_without_redis_are_refused_with_one_line(how):
    env = {"LLM_KEYS": "[]", "ADMIN_TOKEN": "admin-token-0123456789"}
    args = how if isinstance(how, tuple) else ()
    if how == "WEB_CONCURRENCY":
        env["WEB_CONCURRENCY"] = "2"
    started = time.monotonic()
    proc = run_to_exit(env, *args)
    assert proc.returncode != 0
    assert time.monotonic() - started < 30
    line = one_line(proc.stderr)
    assert "REDIS_URL" in line and "workers" in line
    assert "Booting worker" not in proc.stdout


def test_redis_url_without_admin_token_is_refused_with_one_line():
    proc = run_to_exit({"LLM_KEYS": "[]", "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert proc.returncode != 0
    line = one_line(proc.stderr)
    assert "ADMIN_TOKEN" in line and "REDIS_URL" in line


def test_a_shared_pool_starts_a_worker_per_cpu(redis_server, tmp_path):  # noqa: F811
    server = Gunicorn(tmp_path / "proxy.log", [], env={
        "REDIS_URL": redis_server.url, "ADMIN_TOKEN": "admin-token-0123456789"})
    try:
        assert requests.get(server.url + "/healthz", timeout=10).json()["shared_state"] == "ok"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _workers(server.proc.pid) < len(
                os.sched_getaffinity(0)):
            time.sleep(0.1)
        assert _workers(server.proc.pid) == len(os.sched_getaffinity(0))
    finally:
        server.stop()


def _workers(master: int) -> int:
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == master:
                        count += 1
            except (OSError, IndexError, ValueError):
                pass
    return count
