"""Debian's real redis-server on a free port of 127.0.0.1, for the shared-pool tests."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time

import pytest
import redis
from gunicorn_process import free_port


class RedisServer:
    """One redis-server without persistence; it can be killed and started again."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="llm-proxy-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def cli(self, *args: str) -> str:
        """What `redis-cli` prints for one command against this server."""
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                              text=True, timeout=10, check=True).stdout

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def dump(self, prefix: str) -> str:
        """Every value stored under `prefix`, as text: what a copy of the database holds."""
        r = self.client()
        parts = []
        for name in r.scan_iter(match="*"):
            parts.append(name)
            kind = r.type(name)
            if kind == "hash":
                parts += [f"{k}={v}" for k, v in r.hgetall(name).items()]
            elif kind == "list":
                parts += r.lrange(name, 0, -1)
            elif kind == "zset":
                parts += r.zrange(name, 0, -1)
            elif kind == "set":
                parts += sorted(r.smembers(name))
            elif kind == "string":
                parts.append(r.get(name))
        return "\n".join(parts)

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server; .ci/run "
                    "installs it)")
    server = RedisServer()
    yield server
    server.close()
