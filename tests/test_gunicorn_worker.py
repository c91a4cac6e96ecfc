"""The proxy under real gunicorn with gunicorn.conf.py: the default worker, and the opt-in
KeepAliveThreadWorker and its responses."""
from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
import requests

from conftest import free_port, good_key, key_entries
from gunicorn_process import Gunicorn, clean_environment, conf_args, gunicorn_command, scratch_dir

HI = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def start_proxy(upstream, log_path, *args: str, env=None) -> Gunicorn:
    """gunicorn wsgi:app with gunicorn.conf.py, one key of `upstream`, the port in PORT."""
    return Gunicorn(log_path, key_entries(upstream, 1), args=args, bind_flag=False,
                    env={"ADMIN_TOKEN": "admin-token-0123456789", **(env or {})})


WORKER = "llm_proxy.gunicorn_worker.KeepAliveThreadWorker"


@pytest.fixture
def gunicorn_proxy(openai_upstream, tmp_path):
    server = start_proxy(openai_upstream, tmp_path / "gunicorn.log", "-k", WORKER)
    yield server.url, server.port, tmp_path / "gunicorn.log"
    server.stop()


def test_default_configuration_runs_stock_gthread(openai_upstream, tmp_path):
    server = start_proxy(openai_upstream, tmp_path / "default.log")
    url = server.url
    try:
        assert requests.post(url + "/v1/chat/completions", json=HI).status_code == 200
    finally:
        server.stop()
    assert "Using worker: gthread" in (tmp_path / "default.log").read_text()


def test_runs_the_keep_alive_thread_worker_when_asked(gunicorn_proxy):
    _, _, log = gunicorn_proxy
    assert f"Using worker: {WORKER}" in log.read_text()


def test_back_to_back_requests_on_one_connection(gunicorn_proxy, openai_upstream):
    url, _, _ = gunicorn_proxy
    with requests.Session() as http:
        for i in range(20):
            if i % 2:
                resp = http.post(url + "/v1/chat/completions", json={**HI, "stream": True})
                assert resp.text.startswith("data: {") and resp.text.endswith("data: [DONE]\n\n")
            else:
                resp = http.post(url + "/v1/chat/completions", json=HI)
                assert resp.json()["choices"][0]["message"]["content"] == "Hello from the fake."
            assert resp.status_code == 200
    assert len(openai_upstream.calls) == 20


def test_head_and_static_files_keep_their_framing(gunicorn_proxy):
    url, _, _ = gunicorn_proxy
    with requests.Session() as http:
        head = http.head(url + "/static/index.html")
        page = http.get(url + "/static/index.html")
        again = http.get(url + "/healthz")
    assert head.status_code == page.status_code == 200 and head.content == b""
    assert int(page.headers["Content-Length"]) == len(page.content) > 0
    assert b"<html" in page.content.lower()
    assert again.json()["status"] == "ok"


def test_an_error_answer_arrives_whole(gunicorn_proxy):
    url, _, _ = gunicorn_proxy
    resp = requests.post(url + "/v1/chat/completions", json={**HI, "model": "nope"})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "model_not_found"


def test_access_log_has_the_path_but_no_query_string_or_header(openai_upstream, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    server = start_proxy(openai_upstream, log_path, "--access-logfile", "-",
                         env={"PROXY_TOKENS": "client-secret-token-123456"})
    url = server.url
    try:
        resp = requests.post(url + "/v1/chat/completions?api_key=sk-in-query-0123456789",
                             json=HI, headers={"Authorization":
                                               "Bearer client-secret-token-123456",
                                               "Referer": "http://x/?token=sk-referer-012345",
                                               "User-Agent": "agent-sk-ua-0123456789"})
        assert resp.status_code == 200
    finally:
        server.stop()
    text = log_path.read_text()
    [line] = [l for l in text.splitlines() if '"POST /v1/chat/completions HTTP/1.1" 200' in l]
    assert line.startswith("127.0.0.1 ")
    for secret in ("sk-in-query", "api_key", "client-secret-token", "sk-referer", "sk-ua",
                   good_key(0)):
        assert secret not in text


def test_json_logs_keep_gunicorns_access_log_and_log_level_flags(openai_upstream, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    server = start_proxy(openai_upstream, log_path, "--access-logfile", "-",
                         env={"LOG_FORMAT": "json"})
    try:
        assert requests.get(server.url + "/healthz?token=sk-in-query-0123", timeout=10).ok
    finally:
        server.stop()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    access = [l for l in lines if l["logger"] == "gunicorn.access"]
    assert access and all(l["message"].split('"')[1] == "GET /healthz HTTP/1.1"
                          for l in access)
    assert any(l["logger"] == "gunicorn.error" and "Listening at" in l["message"]
               for l in lines)
    assert "sk-in-query" not in log_path.read_text()

    quiet = tmp_path / "quiet.log"
    server = start_proxy(openai_upstream, quiet, "--log-level", "error",
                         env={"LOG_FORMAT": "json", "LOG_LEVEL": "ERROR"})
    server.stop()
    assert quiet.read_text().strip() == ""  # no INFO line from gunicorn either


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_gunicorns_own_lines_go_to_stdout_with_the_applications(tmp_path, log_format):
    port = free_port()
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(
            gunicorn_command() + ["wsgi:app", "--no-control-socket", *conf_args()],
            cwd=scratch_dir(),
            env=clean_environment(PORT=str(port), LOG_FORMAT=log_format, LLM_KEYS="[]",
                                  ADMIN_TOKEN="admin-token-0123456789"),
            stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(30)
    assert "Listening at" in out.read_text() and "Web UI:" in out.read_text()
    assert err.read_text() == ""


def worker_pids(master: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(name))
            except (OSError, ValueError, IndexError):
                pass
    return pids


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and at least two CPUs")
@pytest.mark.parametrize("setting, cores", [(None, "all"), ("on", 1)])
def test_worker_cpu_affinity_is_opt_in(openai_upstream, tmp_path, setting, cores):
    env = {"WORKER_CPU_AFFINITY": setting} if setting else {}
    server = start_proxy(openai_upstream, tmp_path / "gunicorn.log", env=env)
    url = server.url
    try:
        [worker] = worker_pids(server.proc.pid)
        allowed = os.sched_getaffinity(worker)
        assert requests.post(url + "/v1/chat/completions", json=HI).status_code == 200
    finally:
        server.stop()
    if cores == "all":
        assert allowed == os.sched_getaffinity(0)
    else:
        assert len(allowed) == 1
