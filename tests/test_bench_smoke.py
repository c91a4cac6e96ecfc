"""The benchmark runs end to end in its smoke mode: real gunicorn, both upstreams, all stages."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("tool", ["python", "wrk"])
def test_bench_smoke_runs_every_stage_without_a_failure(tmp_path, tool):
    if tool == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--smoke",
                          "--tool", tool, "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True and report["tool"] == tool
    assert [row["concurrency"] for row in report["requests"]] == [1, 4]
    for row in report["requests"]:
        for side in ("direct", "proxy"):
            assert row[side]["requests"] > 0 and row[side]["errors"] == 0
            assert row[side]["p50_ms"] is not None
        assert row["proxy_cpu_us_per_request"] > 0
    [first] = report["first_chunk"]
    for side in ("direct", "proxy"):
        assert first[side]["ok"] == first[side]["streams"] == 5, first[side]["errors"]
    [hold] = report["hold"]
    assert hold["streams"] == hold["ok"] == 10 and hold["failed"] == 0
    assert hold["all_live_at_once"] is True
    assert hold["peak_worker_rss_mb"] > 0
    assert "first streamed chunk" in run.stdout and "concurrent streams" in run.stdout
