"""Claude Code itself through the proxy: `claude -p "say hi"` to an Anthropic and an OpenAI key.

.ci/run installs the pinned @anthropic-ai/claude-code into .tools/claude-code (ignored by
git); the test runs it when node is on the machine, with ANTHROPIC_BASE_URL aimed at the
proxy and CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, in a home and a working folder of its
own, and checks the answer it prints.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import installed_cli
from fake_anthropic import FakeAnthropic
from fake_openai import FakeOpenAI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLAUDE = os.path.join(ROOT, ".tools", "claude-code", "node_modules", ".bin", "claude")
TOKEN = "proxy-token-for-claude-code"
ANT_KEY = "sk-ant-api03-cli0-0123456789abcdefghijkl"
OPENAI_KEY = "sk-good-0-0123456789abcdef"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture
def claude():
    return installed_cli(CLAUDE, "Claude Code (.tools/claude-code)",
                         "npm install --prefix .tools/claude-code @anthropic-ai/claude-code@2.1.197")


def run_claude(claude: str, proxy, tmp_path, model: str, **env) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                   "ANTHROPIC_BASE_URL": proxy.url, "ANTHROPIC_MODEL": model,
                   "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
                   "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                   "DISABLE_AUTOUPDATER": "1", "NO_PROXY": "127.0.0.1,localhost", **env}
    return subprocess.run([claude, "-p", "say hi"], cwd=work, env=environment,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=180)


def test_claude_code_through_the_proxy_to_an_anthropic_key(claude, make_proxy, tmp_path):
    fake = FakeAnthropic(valid_keys={ANT_KEY})
    try:
        proxy = make_proxy([{"provider": "anthropic", "model": "claude-opus-4-8",
                             "api_key": ANT_KEY, "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        done = run_claude(claude, proxy, tmp_path, "claude-opus-4-8",
                          ANTHROPIC_API_KEY=TOKEN)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Hello from Claude."
        calls = [c for c in fake.calls if c.path == "/v1/messages"]
        assert calls and all(c.key == ANT_KEY for c in calls)
        assert calls[0].body["stream"] is True and len(calls[0].body["tools"]) > 10
    finally:
        fake.close()


def test_claude_code_through_the_proxy_to_an_openai_key(claude, make_proxy, tmp_path):
    fake = FakeOpenAI(valid_keys={OPENAI_KEY})
    try:
        proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": OPENAI_KEY,
                             "base_url": fake.base_url}], PROXY_TOKENS=TOKEN)
        done = run_claude(claude, proxy, tmp_path, "gpt-4o", ANTHROPIC_AUTH_TOKEN=TOKEN)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Hello from the fake."
        sent = [c.body for c in fake.calls if c.path == "/v1/chat/completions"]
        assert sent and sent[0]["model"] == "gpt-4o" and sent[0]["tools"]
    finally:
        fake.close()
