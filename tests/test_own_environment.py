"""The tests and the benchmark never read the developer's own `.env`.

The Quick start asks for a `.env` in the repository root with PROXY_TOKENS set; a gunicorn
or benchmark run that read it would answer every tokenless request 401.
"""
import os
import subprocess
import sys

import pytest
import requests
from conftest import good_key
from gunicorn_process import REPO, Gunicorn

README_ENV = 'PROXY_TOKENS=team-token-1\nLLM_KEYS=[{"provider": "openai", "model": "x", ' \
             '"api_key": "sk-from-dotenv-0123456789"}]\n'


@pytest.fixture
def readme_dotenv():
    path = os.path.join(REPO, ".env")
    if os.path.exists(path):
        pytest.skip("a .env of the developer's is in the repository root; left untouched")
    with open(path, "w") as fh:
        fh.write(README_ENV)
    try:
        yield path
    finally:
        os.remove(path)


def test_gunicorn_under_test_ignores_the_readmes_dotenv(readme_dotenv, openai_upstream,
                                                         tmp_path):
    server = Gunicorn(tmp_path / "gunicorn.log",
                      [{"provider": "openai", "model": "gpt-4o", "api_key": good_key(0),
                        "base_url": openai_upstream.base_url}],
                      env={"ADMIN_TOKEN": "admin-token-0123456789"})
    try:
        resp = requests.post(server.base + "/chat/completions", timeout=10, json={
            "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        assert resp.status_code == 200
    finally:
        server.stop()


def test_benchmark_ignores_the_readmes_dotenv(readme_dotenv, tmp_path):
    run = subprocess.run([sys.executable, os.path.join(REPO, "bench", "run.py"), "--smoke",
                          "--tool", "python", "--only", "requests",
                          "--out", str(tmp_path / "r.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]


def test_benchmark_whose_proxy_fails_requests_says_so_and_exits_non_zero(tmp_path):
    # gunicorn refusing every request with more than two headers (the benchmark's POSTs,
    # not its readiness check) stands in for a proxy that answers errors.
    run = subprocess.run([sys.executable, os.path.join(REPO, "bench", "run.py"), "--smoke",
                          "--tool", "python", "--only", "requests",
                          "--out", str(tmp_path / "r.json"), "--", "--limit-request-fields", "2"],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert run.returncode == 1
    assert "the proxy did not answer every request" in run.stderr
    assert "proxied requests failed" in run.stderr
