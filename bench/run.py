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


def start_proxy(upstream_port: int, hold_port: int, log_path: str, gunicorn_args: list[str]):
    """gunicorn wsgi:app with gunicorn.conf.py, one key per fake upstream."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("LLM_KEYS_FILE", "PROXY_TOKENS", "GUNICORN_CMD_ARGS")}
    env.update({
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
                             "-c", "gunicorn.conf.py", "--no-control-socket", *gunicorn_args],
                            cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: gunicorn exited with {proc.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
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
    """Peak RSS of the gunicorn worker and of master + worker while a block runs."""

    def __init__(self, master: int, worker: int):
        self.master, self.worker = master, worker
        self.peak_worker = self.peak_total = 0.0
        self._stop = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            worker = rss_mb(self.worker)
            self.peak_worker = max(self.peak_worker, worker)
            self.peak_total = max(self.peak_total, worker + rss_mb(self.master))
            self._stop.wait(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def diff(proxy, direct):
    return None if proxy is None or direct is None else round(proxy - direct, 3)


def bench_requests(args, upstream_port, proxy_port, worker) -> list[dict]:
    rows = []
    for concurrency in args.concurrency:
        loadgen.run_load(proxy_port, concurrency, args.warmup, args.tool)  # warm connections
        direct = loadgen.run_load(upstream_port, concurrency, args.seconds, args.tool)
        cpu0 = cpu_seconds(worker)
        proxied = loadgen.run_load(proxy_port, concurrency, args.seconds, args.tool)
        cpu = cpu_seconds(worker) - cpu0
        rows.append({
            "concurrency": concurrency, "direct": asdict(direct), "proxy": asdict(proxied),
            "added_p50_ms": diff(proxied.p50_ms, direct.p50_ms),
            "added_p99_ms": diff(proxied.p99_ms, direct.p99_ms),
            "proxy_cpu_us_per_request": round(cpu / proxied.requests * 1e6, 1)
            if proxied.requests else None,
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


def bench_hold(args, proxy_port, master, worker) -> list[dict]:
    rows = []
    expected = expected_text(args.chunks)
    for count in args.hold:
        with MemorySampler(master, worker) as memory:
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
    parser.add_argument("--out", default=os.path.join(HERE, "results.json"))
    parser.add_argument("gunicorn_args", nargs="*",
                        help="extra gunicorn flags after --, e.g. -- --threads 256")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.warmup, args.concurrency = 1.0, 0.3, [1, 4]
        args.chunks, args.interval = 5, 0.01
        args.ttfc_streams, args.ttfc_rate, args.hold, args.hold_interval = 5, [20.0], [10], 0.2
    if args.tool == "auto":
        args.tool = "wrk" if loadgen.have_wrk() else "python"
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    report = {"tool": args.tool, "machine": machine(), "smoke": args.smoke,
              "hold_interval_s": args.hold_interval,
              "gunicorn_args": args.gunicorn_args, "out": args.out}
    log_path = os.path.join(tempfile.gettempdir(), f"llm-proxy-bench-{os.getpid()}.log")
    upstreams, proxy = [], None
    try:
        upstream, upstream_port = start_upstream(args.chunks, args.interval)
        upstreams.append(upstream)
        # Streams that outlast the time it takes to open them all, so they overlap.
        hold_upstream, hold_port = start_upstream(args.chunks, args.hold_interval)
        upstreams.append(hold_upstream)
        proxy, proxy_port = start_proxy(upstream_port, hold_port, log_path,
                                        args.gunicorn_args)
        worker = children(proxy.pid)[0]
        report["idle_worker_rss_mb"] = round(rss_mb(worker), 1)
        if "requests" in args.only:
            report["requests"] = bench_requests(args, upstream_port, proxy_port, worker)
        if "first_chunk" in args.only:
            report["first_chunk"] = bench_first_chunk(args, upstream_port, proxy_port)
        if "hold" in args.only:
            report["hold"] = bench_hold(args, proxy_port, proxy.pid, worker)
    finally:
        if proxy is not None:
            proxy.send_signal(signal.SIGTERM)
            try:
                proxy.wait(30)
            except subprocess.TimeoutExpired:
                proxy.kill()
        for proc in upstreams:
            proc.terminate()
            proc.wait(10)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=2)
    print_table(report)
    return report


if __name__ == "__main__":
    main()
