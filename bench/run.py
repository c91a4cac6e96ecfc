"""Benchmark: the proxy under its real gunicorn config against a fast local upstream.

    python bench/run.py                 # full run (a few minutes), table + bench/results.json
    python bench/run.py --smoke         # seconds; correctness only (used by the test suite)

Every figure is taken in the same run twice, calling the upstream directly and through
the proxy, so the difference is what the proxy adds on this machine at this moment.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import loadgen  # noqa: E402
from upstream import expected_text  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_upstream(chunks: int, interval: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "upstream.py"), "--port", "0",
                             "--chunks", str(chunks), "--interval", str(interval)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit("bench: the fake upstream did not start")
    return proc, int(line.split()[1])


# What the benchmark passes on of its own environment: nothing that configures the proxy.
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


def start_redis() -> tuple[subprocess.Popen, int]:
    """A private redis-server on a free port, without persistence."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", tempfile.gettempdir()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not await_reply(proc, port, b"PING\r\n", b"+PONG", 10):
        raise SystemExit("bench: redis-server did not start")
    return proc, port


def await_reply(proc, port: int, probe: bytes, expected: bytes, seconds: float) -> bool:
    """Send `probe` to 127.0.0.1:port until the answer starts with `expected`; False (and
    `proc` killed) when `proc` exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(probe)
                if sock.recv(64).startswith(expected):
                    return True
        except OSError:
            time.sleep(0.05)
    proc.kill()
    return False


def start_proxy(upstream_port: int, hold_port: int, log_path: str, gunicorn_args: list[str],
                redis_port: int | None = None):
    """gunicorn wsgi:app with gunicorn.conf.py, one key per fake upstream.

    It starts from a scratch directory with a clean environment: the operator's `.env`,
    keys and tokens never reach the proxy under test.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k in PASSED_ON}
    if redis_port is not None:
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        env["REDIS_PREFIX"] = f"bench-{os.getpid()}-{port}"
    env.update({
        "PYTHONPATH": ROOT,
        "LLM_KEYS": json.dumps([
            {"provider": "openai", "model": loadgen.MODEL, "api_key": loadgen.BENCH_KEY,
             "base_url": f"http://127.0.0.1:{upstream_port}/v1"},
            {"provider": "openai", "model": loadgen.HOLD_MODEL, "api_key": loadgen.BENCH_KEY,
             "base_url": f"http://127.0.0.1:{hold_port}/v1"}]),
        "PORT": str(port), "ADMIN_TOKEN": "bench-admin-token-0000000000",
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"), "NO_PROXY": "127.0.0.1,localhost",
    })
    log = open(log_path, "ab")
    # --no-control-socket: a second gunicorn on this machine must not take over the
    # control socket of one already running.
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app",
                             "-c", os.path.join(ROOT, "gunicorn.conf.py"),
                             "--no-control-socket", *gunicorn_args],
                            cwd=tempfile.gettempdir(), env=env, stdout=log, stderr=log)
    if await_reply(proc, port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                   b"HTTP/1.1 200", 30):
        return proc, port
    if proc.returncode is not None:
        raise SystemExit(f"bench: gunicorn exited with {proc.returncode}; see {log_path}")
    raise SystemExit(f"bench: gunicorn did not answer /healthz; see {log_path}")


def children(pid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemorySampler:
    """Peak RSS of the gunicorn workers and of master + workers while a block runs."""

    def __init__(self, master: int, workers: list[int]):
        self.master, self.workers = master, workers
        self.peak_worker = self.peak_total = 0.0
        self._stop = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            worker = sum(rss_mb(w) for w in self.workers)
            self.peak_worker = max(self.peak_worker, worker)
            self.peak_total = max(self.peak_total, worker + rss_mb(self.master))
            self._stop.wait(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def diff(proxy, direct):
    return None if proxy is None or direct is None else round(proxy - direct, 3)


def bench_requests(args, upstream_port, proxy_port, workers, redis_pid=None) -> list[dict]:
    rows = []
    for concurrency in args.concurrency:
        loadgen.run_load(proxy_port, concurrency, args.warmup, args.tool)  # warm connections
        direct = loadgen.run_load(upstream_port, concurrency, args.seconds, args.tool)
        cpu0 = sum(cpu_seconds(w) for w in workers)
        redis0 = cpu_seconds(redis_pid) if redis_pid else 0.0
        proxied = loadgen.run_load(proxy_port, concurrency, args.seconds, args.tool)
        cpu = sum(cpu_seconds(w) for w in workers) - cpu0
        redis_cpu = cpu_seconds(redis_pid) - redis0 if redis_pid else None
        rows.append({
            "concurrency": concurrency, "direct": asdict(direct), "proxy": asdict(proxied),
            "added_p50_ms": diff(proxied.p50_ms, direct.p50_ms),
            "added_p99_ms": diff(proxied.p99_ms, direct.p99_ms),
            "proxy_cpu_us_per_request": round(cpu / proxied.requests * 1e6, 1)
            if proxied.requests else None,
            "redis_cpu_us_per_request": round(redis_cpu / proxied.requests * 1e6, 1)
            if proxied.requests and redis_cpu is not None else None,
        })
    return rows


def summarize_streams(results) -> dict:
    firsts = [r.first_chunk_ms for r in results if r.ok]
    return {"streams": len(results), "ok": len(firsts),
            "errors": sorted({r.error for r in results if not r.ok})[:5],
            "p50_ms": loadgen.percentile(firsts, 50), "p99_ms": loadgen.percentile(firsts, 99)}


def bench_first_chunk(args, upstream_port, proxy_port) -> list[dict]:
    """Time to the first event, direct and proxied, at each rate of new streams."""
    rows = []
    expected = expected_text(args.chunks)
    loadgen.paced_streams(proxy_port, min(5, args.ttfc_streams), args.ttfc_rate[0], expected,
                          args.chunks)  # warm-up
    for rate in args.ttfc_rate:
        direct = summarize_streams(loadgen.paced_streams(
            upstream_port, args.ttfc_streams, rate, expected, args.chunks))
        proxied = summarize_streams(loadgen.paced_streams(
            proxy_port, args.ttfc_streams, rate, expected, args.chunks))
        rows.append({"rate_per_s": rate, "chunks": args.chunks, "interval_s": args.interval,
                     # Streams open at once on average: each lasts (chunks-1) intervals.
                     "overlapping": round(rate * (args.chunks - 1) * args.interval, 1),
                     "direct": direct, "proxy": proxied,
                     "added_p50_ms": diff(proxied["p50_ms"], direct["p50_ms"]),
                     "added_p99_ms": diff(proxied["p99_ms"], direct["p99_ms"])})
    return rows


def bench_hold(args, proxy_port, master, workers) -> list[dict]:
    rows = []
    expected = expected_text(args.chunks)
    for count in args.hold:
        with MemorySampler(master, workers) as memory:
            held = loadgen.hold_streams(proxy_port, count, expected, args.chunks)
        rows.append({**asdict(held), "peak_worker_rss_mb": round(memory.peak_worker, 1),
                     "peak_total_rss_mb": round(memory.peak_total, 1)})
        if held.failed:
            break
    return rows


def machine() -> dict:
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_average_at_start": load}


def _ms(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_table(report: dict) -> None:
    print(f"\nload generator: {report['tool']}; {report['machine']['cpus']} CPUs; "
          f"load average at start {' '.join(report['machine']['load_average_at_start'])}")
    if report.get("requests"):
        print("\nnon-streamed        direct                       proxy                      "
              "  added")
        print("concurrency   req/s    p50 ms   p99 ms    req/s    p50 ms   p99 ms   p50 ms  "
              "p99 ms  CPU us/req  errors")
        for row in report["requests"]:
            d, p = row["direct"], row["proxy"]
            print(f"{row['concurrency']:>11} {d['rps']:>7.0f} {_ms(d['p50_ms']):>9} "
                  f"{_ms(d['p99_ms']):>8} {p['rps']:>8.0f} {_ms(p['p50_ms']):>9} "
                  f"{_ms(p['p99_ms']):>8} {_ms(row['added_p50_ms']):>8} "
                  f"{_ms(row['added_p99_ms']):>7} {row['proxy_cpu_us_per_request'] or '-':>11} "
                  f"{d['errors'] + p['errors']:>7}")
    for f in report.get("first_chunk", []):
        print(f"\nfirst streamed chunk ({f['proxy']['streams']} streams of {f['chunks']} "
              f"chunks {f['interval_s'] * 1000:g} ms apart, {f['rate_per_s']:g} started/s, "
              f"~{f['overlapping']:g} open at once)")
        print(f"  direct p50 {_ms(f['direct']['p50_ms'])} ms  p99 {_ms(f['direct']['p99_ms'])} ms;"
              f"  proxy p50 {_ms(f['proxy']['p50_ms'])} ms  p99 {_ms(f['proxy']['p99_ms'])} ms;"
              f"  added p50 {_ms(f['added_p50_ms'])} ms  p99 {_ms(f['added_p99_ms'])} ms;"
              f"  failed {f['direct']['streams'] - f['direct']['ok']}"
              f"+{f['proxy']['streams'] - f['proxy']['ok']}")
    if report.get("hold"):
        print("\nconcurrent streams through the proxy (all opened at once; "
              f"{report['hold_interval_s']:g} s between chunks)")
        print("  streams  ok  failed  all live at once  seconds  peak RSS worker / +master MB")
        for row in report["hold"]:
            print(f"  {row['streams']:>7} {row['ok']:>4} {row['failed']:>6} "
                  f"{str(row['all_live_at_once']):>17} {row['open_seconds']:>8.1f}  "
                  f"{row['peak_worker_rss_mb']:>6.1f} / {row['peak_total_rss_mb']:.1f}"
                  + (f"  {row['errors']}" if row["errors"] else ""))
    print(f"\nidle worker RSS {report['idle_worker_rss_mb']} MB; results in {report['out']}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="llm-proxy benchmark: direct vs proxy.")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds, tiny sizes: checks that everything works")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator for non-streamed requests (auto: wrk if present)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 16, 64])
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--ttfc-streams", type=int, default=100)
    parser.add_argument("--ttfc-rate", type=lambda s: [float(x) for x in s.split(",")],
                        default=[5.0, 20.0], help="new streams per second, comma-separated")
    parser.add_argument("--hold", type=lambda s: [int(x) for x in s.split(",")],
                        default=[100, 500, 1000])
    parser.add_argument("--hold-interval", type=float, default=0.5,
                        help="seconds between the chunks of the held streams")
    parser.add_argument("--only", type=lambda s: s.split(","),
                        default=["requests", "first_chunk", "hold"],
                        help="stages to run, comma-separated: requests,first_chunk,hold")
    parser.add_argument("--modes", type=lambda s: s.split(","), default=["local"],
                        help="configurations to measure in this run, comma-separated: "
                             + ",".join(MODES))
    parser.add_argument("--out", default=os.path.join(HERE, "results.json"))
    parser.add_argument("gunicorn_args", nargs="*",
                        help="extra gunicorn flags after --, e.g. -- --threads 256")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.warmup, args.concurrency = 1.0, 0.3, [1, 4]
        args.chunks, args.interval = 5, 0.01
        args.ttfc_streams, args.ttfc_rate, args.hold, args.hold_interval = 5, [20.0], [10], 0.2
    unknown = [m for m in args.modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {unknown[0]!r}; known: {', '.join(MODES)}")
    if args.tool == "auto":
        args.tool = "wrk" if loadgen.have_wrk() else "python"
    return args


# Each mode is one configuration of the proxy, measured in the same run as the others.
MODES = {
    "local": (False, []),            # the in-process pool, one worker (the default)
    "redis": (True, ["-w", "1"]),    # the Redis pool, one worker: the store's own cost
    "redis-w2": (True, ["-w", "2"]),  # the Redis pool, a worker per core of this machine
}


def run_mode(args, mode: str, upstream_port: int, hold_port: int, log_path: str) -> dict:
    uses_redis, mode_args = MODES[mode]
    redis_proc = redis_port = None
    proxy = None
    result: dict = {"mode": mode, "gunicorn_args": mode_args + args.gunicorn_args}
    try:
        if uses_redis:
            redis_proc, redis_port = start_redis()
        proxy, proxy_port = start_proxy(upstream_port, hold_port, log_path,
                                        mode_args + args.gunicorn_args, redis_port)
        workers = wait_for_workers(proxy.pid, 2 if "-w" in mode_args else 1)
        result["workers"] = len(workers)
        result["idle_worker_rss_mb"] = round(sum(rss_mb(w) for w in workers), 1)
        if "requests" in args.only:
            result["requests"] = bench_requests(args, upstream_port, proxy_port, workers,
                                                redis_proc.pid if redis_proc else None)
        if "first_chunk" in args.only:
            result["first_chunk"] = bench_first_chunk(args, upstream_port, proxy_port)
        if "hold" in args.only:
            result["hold"] = bench_hold(args, proxy_port, proxy.pid, workers)
    finally:
        if proxy is not None:
            proxy.send_signal(signal.SIGTERM)
            try:
                proxy.wait(30)
            except subprocess.TimeoutExpired:
                proxy.kill()
        if redis_proc is not None:
            redis_proc.kill()
            redis_proc.wait(10)
    return result


def wait_for_workers(master: int, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        workers = children(master)
        if len(workers) >= count:
            return workers
        time.sleep(0.1)
    return children(master)


def proxy_failures(result: dict) -> list[str]:
    """Every proxied request or stream of a mode that did not succeed, as lines."""
    lines = []
    for row in result.get("requests", []):
        if row["proxy"]["errors"] or not row["proxy"]["requests"]:
            lines.append(f"concurrency {row['concurrency']}: {row['proxy']['errors']} "
                         "proxied requests failed")
    for row in result.get("first_chunk", []):
        if row["proxy"]["ok"] < row["proxy"]["streams"]:
            lines.append(f"first chunk at {row['rate_per_s']:g}/s: "
                         f"{row['proxy']['streams'] - row['proxy']['ok']} streams failed "
                         f"{row['proxy']['errors']}")
    for row in result.get("hold", []):
        if row["failed"]:
            lines.append(f"{row['streams']} held streams: {row['failed']} failed {row['errors']}")
    return lines


def print_comparison(report: dict) -> None:
    modes = report["modes"]
    if len(modes) < 2 or not all(m.get("requests") for m in modes):
        return
    print("\nnon-streamed, by mode (same run): proxy req/s as a share of direct, added p50, "
          "CPU per request")
    print("   mode       workers  concurrency   proxy req/s  direct req/s  ratio   added p50 ms"
          "  worker CPU us/req  redis CPU us/req")
    for mode in modes:
        for row in mode["requests"]:
            ratio = row["proxy"]["rps"] / row["direct"]["rps"] if row["direct"]["rps"] else 0
            print(f"   {mode['mode']:<10} {mode['workers']:>7} {row['concurrency']:>12} "
                  f"{row['proxy']['rps']:>13.0f} {row['direct']['rps']:>13.0f} "
                  f"{ratio:>6.3f} {_ms(row['added_p50_ms']):>14} "
                  f"{row['proxy_cpu_us_per_request'] or '-':>18} "
                  f"{row['redis_cpu_us_per_request'] or '-':>17}")


def main(argv=None) -> dict:
    args = parse_args(argv)
    report = {"tool": args.tool, "machine": machine(), "smoke": args.smoke,
              "hold_interval_s": args.hold_interval,
              "gunicorn_args": args.gunicorn_args, "out": args.out, "modes": []}
    log_path = os.path.join(tempfile.gettempdir(), f"llm-proxy-bench-{os.getpid()}.log")
    upstreams = []
    try:
        upstream, upstream_port = start_upstream(args.chunks, args.interval)
        upstreams.append(upstream)
        # Streams that outlast the time it takes to open them all, so they overlap.
        hold_upstream, hold_port = start_upstream(args.chunks, args.hold_interval)
        upstreams.append(hold_upstream)
        for mode in args.modes:
            report["modes"].append(run_mode(args, mode, upstream_port, hold_port, log_path))
    finally:
        for proc in upstreams:
            proc.terminate()
            proc.wait(10)
    # The first mode's figures also at the top, where earlier reports had them.
    first = report["modes"][0]
    for name in ("requests", "first_chunk", "hold", "idle_worker_rss_mb"):
        if name in first:
            report[name] = first[name]
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=2)
    failures = []
    for mode in report["modes"]:
        if len(report["modes"]) > 1:
            print(f"\n=== mode {mode['mode']} ({mode['workers']} worker(s))")
        print_table({**report, **mode})
        failures += [f"{mode['mode']}: {line}" for line in proxy_failures(mode)]
    print_comparison(report)
    if failures:
        print("\nbench: the proxy did not answer every request; the figures above do not "
              f"describe a working proxy (log: {log_path}):", file=sys.stderr)
        for line in failures:
            print("  " + line, file=sys.stderr)
        raise SystemExit(1)
    return report


if __name__ == "__main__":
    main()
