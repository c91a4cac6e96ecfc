"""The real `gunicorn wsgi:app` in a subprocess on a free port of 127.0.0.1, for tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import requests
from conftest import _CLEARED, free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def scratch_dir() -> str:
    """An empty directory to start gunicorn in: no `.env` of the developer's is read."""
    return tempfile.mkdtemp(prefix="llm-proxy-test-")


def conf_args() -> list:
    """The project's gunicorn.conf.py, named, for a gunicorn started in a scratch dir."""
    return ["-c", os.path.join(REPO, "gunicorn.conf.py")]


def gunicorn_command() -> list:
    """The venv's `gunicorn` script, as users run it; `python -m gunicorn` without one."""
    script = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "gunicorn"]


def clean_environment(**extra) -> dict:
    """This environment without keys, tokens or gunicorn settings, plus `extra`."""
    # A developer's real keys, proxies, GUNICORN_CMD_ARGS or CPU pinning must not reach it.
    env = {k: v for k, v in os.environ.items()
           if k not in _CLEARED and k != "WORKER_CPU_AFFINITY" and not k.startswith("GUNICORN")}
    # PYTHONPATH: wsgi.py and gunicorn.conf.py's imports are found from any cwd.
    env.update(NO_PROXY="127.0.0.1,localhost", PYTHONUNBUFFERED="1", PYTHONPATH=REPO)
    env.update(extra)
    return env


class Gunicorn:
    """`gunicorn wsgi:app` started on a free port; its output goes to `log_path`."""

    def __init__(self, log_path, entries: list | None = None, *, args=(), env: dict | None = None,
                 cwd=None, bind_flag: bool = True, first_bind: str | None = None,
                 access_log: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base = self.url + "/v1"
        self.log_path = log_path
        env = dict(env or {})
        if entries is not None:
            env["LLM_KEYS"] = json.dumps(entries)
        command = gunicorn_command() + ["wsgi:app"]
        binds = ([first_bind] if first_bind else []) + [f"127.0.0.1:{self.port}"]
        if bind_flag:
            command += [arg for bind in binds for arg in ("-b", bind)]
        else:
            env["PORT"] = str(self.port)  # gunicorn.conf.py binds 0.0.0.0:$PORT
        # A scratch cwd keeps a developer's .env out; name the settings file it hides.
        cwd = cwd or scratch_dir()
        if cwd != REPO:
            command += ["-c", os.path.join(REPO, "gunicorn.conf.py")]
        # The default control socket is one path in $HOME, shared by every test server.
        command += ["--no-control-socket"]
        if access_log:
            command += ["--access-logfile", "-"]
        # A file, not a pipe: a pipe nobody reads would block the server once full.
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen([*command, *args], cwd=cwd,
                                         env=clean_environment(**env),
                                         stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                # A worker still importing on a loaded machine may take a while to answer.
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        output = self.stop()
        raise AssertionError("gunicorn did not start:\n" + output)

    def openai(self, **kwargs):
        """An OpenAI SDK client for this server, without retries."""
        import openai
        return openai.OpenAI(base_url=self.base, api_key=kwargs.pop("api_key", "unused"),
                             max_retries=0, timeout=30, **kwargs)

    def output(self) -> str:
        with open(self.log_path, "rb") as log:
            return log.read().decode(errors="replace")

    def stop(self) -> str:
        """SIGTERM, as a container runtime sends; kill if still running 30 s later."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.output()
