"""Each proxy on a host gets a gunicorn control socket of its own, never one shared path."""
import os
import subprocess
import time

import requests
from conftest import free_port
from gunicorn_process import clean_environment, conf_args, gunicorn_command, scratch_dir


def test_two_proxies_on_one_host_have_a_control_socket_each(tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir()
    procs, ports = [], []
    try:
        for _ in range(2):
            port = free_port()
            env = clean_environment(LLM_KEYS="[]", ADMIN_TOKEN="admin-token-0123456789",
                                    XDG_RUNTIME_DIR=str(runtime), HOME=str(tmp_path))
            procs.append(subprocess.Popen(
                gunicorn_command() + ["wsgi:app", "-b", f"127.0.0.1:{port}", *conf_args()],
                cwd=scratch_dir(), env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            ports.append(port)
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                        break
                except requests.RequestException:
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.1)
        expected = {f"llm-proxy-{proc.pid}.ctl" for proc in procs}
        deadline = time.monotonic() + 10
        while not expected <= set(os.listdir(runtime)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert expected <= set(os.listdir(runtime))
        assert "gunicorn.ctl" not in os.listdir(runtime)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
