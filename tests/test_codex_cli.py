"""Codex CLI itself through the proxy: `codex exec "say hi"` to an OpenAI and an Anthropic key.

.ci/run installs the pinned @openai/codex into .tools/codex (ignored by git); the test runs
it when node is on the machine, with a `model_providers` entry whose base_url is the proxy
and `wire_api = "responses"`, in a home and a working folder of its own, and checks the
answer it prints.

Both fakes call the first tool offered to a fresh question, with arguments of their own
(`{"city": "Paris"}`), so each run is a whole tool round trip: Codex refuses the arguments
of its `exec_command`, sends its refusal back as the function call's output, and prints
the fake's answer to that, which quotes it.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import installed_cli
from anthropic_common import ant_key
from fake_anthropic import FakeAnthropic
from fake_openai import FakeOpenAI
from responses_common import OPENAI_KEY, TOKEN

# Codex's refusal of the fake's arguments, quoted back by the fake.
ANSWER = "The tool said: failed to parse function arguments: missing field `cmd`"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODEX = os.path.join(ROOT, ".tools", "codex", "node_modules", ".bin", "codex")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture
def codex():
    return installed_cli(CODEX, "Codex CLI (.tools/codex)",
                         "npm install --prefix .tools/codex @openai/codex@0.171.0")


def run_codex(codex: str, proxy, tmp_path, model: str) -> subprocess.CompletedProcess:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    provider = (f'model_providers.proxy={{name="proxy", base_url="{proxy.base}", '
                'env_key="LLM_PROXY_TOKEN", wire_api="responses"}')
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                   "CODEX_HOME": str(home / ".codex"), "LLM_PROXY_TOKEN": TOKEN,
                   "NO_PROXY": "127.0.0.1,localhost", "RUST_LOG": "error"}
    (home / ".codex").mkdir()
    return subprocess.run([codex, "exec", "--skip-git-repo-check", "-c", "model_provider=proxy",
                           "-c", provider, "-m", model, "say hi"],
                          cwd=work, env=environment, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)


def responses_calls(fake, path: str) -> list:
    return [c for c in fake.calls if c.path == path and c.method == "POST"]


def test_codex_through_the_proxy_to_an_openai_key(codex, make_proxy, tmp_path):
    fake = FakeOpenAI(valid_keys={OPENAI_KEY})
    try:
        proxy = make_proxy([{"provider": "openai", "model": "gpt-5.1-codex",
                             "api_key": OPENAI_KEY, "base_url": fake.base_url}],
                           PROXY_TOKENS=TOKEN)
        done = run_codex(codex, proxy, tmp_path, "gpt-5.1-codex")
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip().startswith(ANSWER), done.stdout
        calls = responses_calls(fake, "/v1/responses")
        assert len(calls) == 2 and all(c.key == OPENAI_KEY for c in calls)
        assert calls[0].body["stream"] is True and calls[0].body["store"] is False
        output = calls[1].body["input"][-1]
        assert output["type"] == "function_call_output"
        assert output["call_id"] == calls[1].body["input"][-2]["call_id"]
    finally:
        fake.close()


def test_codex_through_the_proxy_to_an_anthropic_key(codex, make_proxy, tmp_path):
    fake = FakeAnthropic(valid_keys={ant_key(0)})
    try:
        proxy = make_proxy([{"provider": "anthropic", "model": "claude-sonnet-4-5",
                             "api_key": ant_key(0), "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        done = run_codex(codex, proxy, tmp_path, "claude-sonnet-4-5")
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip().startswith(ANSWER), done.stdout
        bodies = fake.bodies
        assert len(bodies) == 2 and bodies[0]["stream"] is True
        assert bodies[0]["tools"][0]["name"] == "exec_command"
        result = bodies[1]["messages"][-1]["content"][0]
        assert result["type"] == "tool_result"
        assert result["tool_use_id"] == bodies[1]["messages"][-2]["content"][-1]["id"]
    finally:
        fake.close()
