"""Load generators of the benchmark: wrk when installed, else an asyncio one; SSE clients."""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

PATH = "/v1/chat/completions"
MODEL = "bench-model"
HOLD_MODEL = "bench-hold"  # the same upstream format, streaming slowly enough to overlap
BENCH_KEY = "sk-bench-0000000000000000000000"
# A typical small chat request: a system prompt and one user turn.
BODY = {"model": MODEL, "messages": [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly. " * 4},
    {"role": "user", "content": "Say something about foxes and dogs in one sentence."}]}


def request_bytes(host: str, port: int, body: dict) -> bytes:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return (f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {BENCH_KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n").encode() + raw


def percentile(values: list, pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


@dataclass
class LoadResult:
    tool: str
    concurrency: int
    seconds: float
    requests: int
    errors: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None


# -- non-streamed load -----------------------------------------------------------------------

def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(port: int, concurrency: int, seconds: float) -> LoadResult:
    """wrk -c <concurrency> with keep-alive, POSTing the chat body; percentiles from --latency."""
    script = (f"wrk.method = 'POST'\nwrk.body = {json.dumps(json.dumps(BODY))}\n"
              "wrk.headers['Content-Type'] = 'application/json'\n"
              f"wrk.headers['Authorization'] = 'Bearer {BENCH_KEY}'\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        # One wrk thread drives the direct upstream at tens of thousands of requests/s;
        # a second would only take CPU from the proxy on a 2-core machine.
        threads = 1
        seconds = max(1, round(seconds))  # wrk counts whole seconds
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds}s",
             "--timeout", "10s", "--latency", "-s", fh.name, f"http://127.0.0.1:{port}{PATH}"],
            capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(fh.name)
    return _parse_wrk(out, concurrency, seconds)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def _parse_wrk(out: str, concurrency: int, seconds: float) -> LoadResult:
    if "requests in" not in out:
        raise RuntimeError(f"wrk failed: {out.strip()[:300]}")
    pct = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(n) for n in sock.groups())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return LoadResult("wrk", concurrency, seconds, total, errors, rps,
                      _wrk_ms(pct["50"]) if "50" in pct else None,
                      _wrk_ms(pct["99"]) if "99" in pct else None)


async def _read_response(reader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if match:
        await reader.readexactly(int(match.group(1)))
    else:  # chunked
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _py_load(port: int, concurrency: int, seconds: float) -> LoadResult:
    payload = request_bytes("127.0.0.1", port, BODY)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def connection():
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                writer.write(payload)
                status = await _read_response(reader)
                latencies.append((time.perf_counter() - start) * 1000)
                if status != 200:
                    errors += 1
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return LoadResult("python", concurrency, seconds, len(latencies), errors,
                      len(latencies) / elapsed, percentile(latencies, 50),
                      percentile(latencies, 99))


def run_load(port: int, concurrency: int, seconds: float, tool: str) -> LoadResult:
    if tool == "wrk":
        return run_wrk(port, concurrency, seconds)
    return asyncio.run(_py_load(port, concurrency, seconds))


# -- streams ------------------------------------------------------------------------------

@dataclass
class StreamResult:
    ok: bool
    first_chunk_ms: float | None = None   # from sending the request to the first event
    started: float | None = None          # perf_counter of the first event
    finished: float | None = None         # perf_counter of [DONE]
    error: str | None = None
    text: str = ""
    chunks: int = 0


async def one_stream(port: int, expected: str, chunks: int, model: str = MODEL,
                     idle: list | None = None) -> StreamResult:
    """Send a streamed chat request; time its first event; check every chunk arrived.

    With `idle` (a list shared by the calls), connections are kept alive and reused,
    as the OpenAI SDKs do; without it each stream has a connection of its own.
    """
    payload = request_bytes("127.0.0.1", port, {**BODY, "model": model, "stream": True})
    if idle:
        reader, writer = idle.pop()
    else:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        except OSError as exc:
            return StreamResult(False, error=f"connect: {exc}")
    result = StreamResult(False)
    try:
        sent = time.perf_counter()
        writer.write(payload)
        head = await reader.readuntil(b"\r\n\r\n")
        if int(head[9:12]) != 200:
            result.error = f"status {head[9:12].decode()}"
            return result
        buffer = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            if result.started is None:
                result.started = time.perf_counter()
                result.first_chunk_ms = (result.started - sent) * 1000
            buffer += data[:-2]
        result.finished = time.perf_counter()
        parts = []
        for event in buffer.split(b"\n\n"):
            if not event.startswith(b"data: "):
                continue
            data = event[6:]
            if data == b"[DONE]":
                result.ok = True
                continue
            chunk = json.loads(data)
            if chunk.get("choices"):
                result.chunks += 1
                parts.append(chunk["choices"][0]["delta"].get("content") or "")
        result.text = "".join(parts)
        if result.ok and (result.text != expected or result.chunks != chunks):
            result.ok = False
            result.error = f"content: {result.chunks} chunks, {len(result.text)} chars"
        elif not result.ok:
            result.error = "no [DONE]"
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if idle is not None and result.ok:
            idle.append((reader, writer))
        else:
            writer.close()
    return result


async def _paced_streams(port: int, count: int, rate: float, expected: str, chunks: int):
    idle: list = []
    tasks = []
    for i in range(count):
        tasks.append(asyncio.ensure_future(one_stream(port, expected, chunks, idle=idle)))
        await asyncio.sleep(1 / rate)
    results = await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    return results


def paced_streams(port: int, count: int, rate: float, expected: str,
                  chunks: int) -> list[StreamResult]:
    """`count` streams started `rate` per second on kept-alive connections (they overlap)."""
    return asyncio.run(_paced_streams(port, count, rate, expected, chunks))


@dataclass
class HoldResult:
    streams: int
    ok: int
    failed: int
    all_live_at_once: bool
    open_seconds: float
    errors: list = field(default_factory=list)


async def _hold(port: int, count: int, expected: str, chunks: int) -> HoldResult:
    started = time.perf_counter()
    results = await asyncio.gather(*(one_stream(port, expected, chunks, HOLD_MODEL)
                                     for _ in range(count)))
    ok = [r for r in results if r.ok]
    # Every stream had its first event before any stream ended: all were live at once.
    live = len(ok) == count and max(r.started for r in ok) < min(r.finished for r in ok)
    errors = sorted({r.error for r in results if not r.ok})[:5]
    return HoldResult(count, len(ok), count - len(ok), live,
                      time.perf_counter() - started, errors)


def hold_streams(port: int, count: int, expected: str, chunks: int) -> HoldResult:
    """Open `count` streams at once and read them all to the end."""
    return asyncio.run(_hold(port, count, expected, chunks))
