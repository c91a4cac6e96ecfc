"""Helpers the test modules share: key entries, keys as the admin API lists them, SSE readers,
error envelopes, free ports, polling. conftest re-exports them; the modules import them from
there."""
from __future__ import annotations

import json
import socket
import time


# The chat request most tests send.
HELLO = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def good_key(i: int) -> str:
    """The i-th key the `openai_upstream` fake accepts."""
    return f"sk-good-{i}-0123456789abcdef"


# -- key entries --------------------------------------------------------------------------

def key_entry(upstream, i: int = 0, model: str = "gpt-4o", provider: str = "openai",
              key: str | None = None, **extra) -> dict:
    """The LLM_KEYS entry of good_key(i) (or `key`) at the fake `upstream`."""
    return {"provider": provider, "model": model, "api_key": key or good_key(i),
            "base_url": upstream.base_url, **extra}


def key_entries(upstream, n: int, model: str = "gpt-4o", provider: str = "openai",
                first: int = 0) -> list:
    """Entries of good_key(first) .. good_key(first + n - 1) at `upstream`, in that order."""
    return [key_entry(upstream, first + i, model, provider) for i in range(n)]


# -- keys as the admin API shows them -----------------------------------------------------

def id_of(proxy, secret: str) -> str:
    """The id of the proxy's key with this secret."""
    return next(k.id for k in proxy.pool.keys() if k.api_key == secret)


def listed(proxy) -> dict:
    """The admin listing, keyed by id."""
    resp = proxy.admin("GET", "/api/keys")
    assert resp.status_code == 200, resp.text
    return {k["id"]: k for k in resp.json()["keys"]}


def status_of(proxy, i: int) -> dict:
    """The admin listing's entry of the key good_key(i)."""
    key_id = id_of(proxy, good_key(i))
    return next(k for k in proxy.admin("GET", "/api/keys").json()["keys"] if k["id"] == key_id)


# -- answers ------------------------------------------------------------------------------

def sse_data(resp) -> list:
    """The `data:` payloads of an SSE response as bytes, b"[DONE]" included."""
    return [line[6:] for line in resp.iter_lines() if line.startswith(b"data: ")]


def sse_payloads(resp) -> list:
    """The `data:` payloads of a proxy SSE response, [DONE] included as a string."""
    return [data.decode() if data == b"[DONE]" else json.loads(data) for data in sse_data(resp)]


def assert_error(resp, status: int, param=None, *, mentions: str | None = None) -> dict:
    """The response is OpenAI's error envelope with this status, naming `param` and with a
    message that mentions `mentions` when they are given: its `error` object."""
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    if param is not None:
        assert err["param"] == param
    if mentions is not None:
        assert mentions in err["message"]
    return err


# -- ports and waiting --------------------------------------------------------------------

def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 3.0, interval: float = 0.005) -> float | None:
    """Poll `predicate` until it holds: the monotonic time it first held, or None once
    `timeout` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    return None


# -- coding-agent CLIs installed by .ci/run ------------------------------------------------

def installed_cli(path: str, name: str, install: str) -> str:
    """`path` if the CLI `.ci/run` installs is there; else a skip, or under CI a failure."""
    import os

    import pytest
    if not os.access(path, os.X_OK):
        message = f"{name} is not installed: run .ci/run, or {install}"
        if os.environ.get("CI"):
            pytest.fail(message)  # .ci/run installs it: its absence is a failure there
        pytest.skip(message)
    return path
