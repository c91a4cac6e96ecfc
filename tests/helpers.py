"""Helpers the test modules share. conftest re-exports them; modules import them from conftest."""
from __future__ import annotations

import json
import time


def good_key(i: int) -> str:
    """The i-th key the `openai_upstream` fake accepts."""
    return f"sk-good-{i}-0123456789abcdef"


# -- answers ---------------------------------------------------------------------------------

def sse_data(resp) -> list:
    """The `data:` payloads of an SSE response as bytes, b"[DONE]" included."""
    return [line[6:] for line in resp.iter_lines() if line.startswith(b"data: ")]


def sse_payloads(resp) -> list:
    """The `data:` payloads of a proxy SSE response, [DONE] included as a string."""
    return [data.decode() if data == b"[DONE]" else json.loads(data) for data in sse_data(resp)]


# -- waiting ---------------------------------------------------------------------------------

def wait_for(predicate, timeout: float = 3.0, interval: float = 0.005) -> float | None:
    """Poll `predicate` until it holds: the monotonic time it first held, or None once
    `timeout` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    return None
