"""The Dockerfile, .dockerignore and compose example (no Docker engine here: read and check)."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest
from conftest import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    with open(os.path.join(ROOT, "Dockerfile")) as fh:
        text = re.sub(r"\\\n\s*", " ", fh.read())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def first(name: str) -> int:
    return next(i for i, (word, _) in enumerate(instructions()) if word == name)


def test_base_image_is_slim_python():
    word, image = instructions()[0]
    assert word == "FROM" and re.fullmatch(r"python:3\.\d+-slim(-\w+)?", image)


def test_dependencies_install_in_a_layer_before_the_code():
    steps = instructions()
    copy_requirements = next(i for i, (w, a) in enumerate(steps)
                             if w == "COPY" and a.split()[0] == "requirements.txt")
    install = next(i for i, (w, a) in enumerate(steps)
                   if w == "RUN" and "pip install -r requirements.txt" in a)
    code_copies = [i for i, (w, a) in enumerate(steps) if w == "COPY" and i != copy_requirements]
    assert copy_requirements < install < min(code_copies)


def test_every_copied_path_exists_and_the_app_is_complete():
    copied = set()
    for word, args in instructions():
        if word == "COPY":
            *sources, _ = shlex.split(args)
            for source in sources:
                assert os.path.exists(os.path.join(ROOT, source)), source
                copied.add(source.rstrip("/"))
    assert {"requirements.txt", "wsgi.py", "gunicorn.conf.py", "llm_proxy", "static"} <= copied


def test_runs_as_a_non_root_user():
    users = [args for word, args in instructions() if word == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    assert first("USER") < first("CMD")


def test_exposes_7788_and_checks_healthz():
    assert ("EXPOSE", "7788") in instructions()
    [check] = [args for word, args in instructions() if word == "HEALTHCHECK"]
    assert "/healthz" in check and "CMD" in check


def test_cmd_is_gunicorn_reading_its_config_file():
    [cmd] = [args for word, args in instructions() if word == "CMD"]
    assert json.loads(cmd) == ["gunicorn", "wsgi:app"]
    # gunicorn reads ./gunicorn.conf.py from the working directory the code is copied to.
    workdir = [args for word, args in instructions() if word == "WORKDIR"][-1]
    targets = {shlex.split(args)[-1].rstrip("/") for word, args in instructions()
               if word == "COPY" and "gunicorn.conf.py" in shlex.split(args)}
    assert targets and targets <= {".", workdir.rstrip("/")}


def test_healthcheck_command_passes_against_a_running_proxy(make_proxy):
    [check] = [args for word, args in instructions() if word == "HEALTHCHECK"]
    command = json.loads(check[check.index("CMD") + 3:].strip())
    assert command[0] == "python"
    proxy = make_proxy()
    env = {**os.environ, "PORT": str(proxy.port)}
    ok = subprocess.run([sys.executable, *command[1:]], env=env, timeout=30)
    assert ok.returncode == 0
    env["PORT"] = str(free_port())
    down = subprocess.run([sys.executable, *command[1:]], env=env, timeout=30,
                          capture_output=True)
    assert down.returncode != 0



# Docker matches a bare name at the top of the context only; "**/" reaches every depth.
@pytest.mark.parametrize("pattern", ["**/.env", "**/.env.*", "**/llm_keys*.json", ".git",
                                     ".venv", "tests", "**/__pycache__", "**/*.pyc"])
def test_dockerignore_keeps_secrets_and_local_state_out(pattern):
    with open(os.path.join(ROOT, ".dockerignore")) as fh:
        entries = {line.strip() for line in fh if line.strip() and not line.startswith("#")}
    assert pattern in entries


def test_compose_example_runs_the_image_with_a_grace_period_for_streams():
    with open(os.path.join(ROOT, "docker-compose.yml")) as fh:
        text = fh.read()
    assert '"7788:7788"' in text
    assert "stop_grace_period: 5m" in text
    assert "LLM_KEYS_FILE" in text and "ADMIN_TOKEN" in text
    assert "sk-" not in text.replace('"sk-..."', "")  # no key in the example itself
