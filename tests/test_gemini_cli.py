"""Gemini CLI itself through the proxy: `gemini -p "say hi"` to a Gemini and an OpenAI key.

.ci/run installs the pinned @google/gemini-cli into .tools/gemini-cli (ignored by git); the
test runs it when node is on the machine, with GOOGLE_GEMINI_BASE_URL the proxy and
GEMINI_API_KEY a proxy token, in a home (settings turning telemetry, update checks and the
IDE off) and a working folder of its own, and checks the answer it prints.

Both fakes call the first function offered to a fresh question with arguments of their
own (`{"city": "Paris"}`), so each run is a whole tool round trip: Gemini CLI refuses the
arguments of its `update_topic`, sends the refusal back as the function's response, and
prints the fake's answer to that, which quotes it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from conftest import installed_cli
from fake_gemini import FakeGemini
from fake_openai import FakeOpenAI
from gemini_api_common import TOKEN, entry
from gemini_common import gem_key
from helpers import good_key

MODEL = "gemini-2.5-flash"
ANSWER = "The tool said: {\"error\": \"params must have required property 'strategic_intent'\"}"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEMINI = os.path.join(ROOT, ".tools", "gemini-cli", "node_modules", ".bin", "gemini")
SETTINGS = {"general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
            "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False},
            "ide": {"enabled": False}, "security": {"auth": {"selectedType": "gemini-api-key"}}}

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture
def gemini_cli():
    return installed_cli(GEMINI, "Gemini CLI (.tools/gemini-cli)",
                         "npm install --prefix .tools/gemini-cli @google/gemini-cli@0.61.0")


def run_gemini(cli: str, proxy, tmp_path) -> subprocess.CompletedProcess:
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".gemini").mkdir(parents=True)
    work.mkdir()
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                   "GEMINI_API_KEY": TOKEN, "GOOGLE_GEMINI_BASE_URL": proxy.url,
                   "NO_PROXY": "127.0.0.1,localhost", "NO_COLOR": "1"}
    return subprocess.run([cli, "--skip-trust", "-p", "say hi", "-m", MODEL], cwd=work,
                          env=environment, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=180)


def test_gemini_cli_through_the_proxy_to_a_gemini_key(gemini_cli, make_proxy, tmp_path):
    fake = FakeGemini(valid_keys={gem_key(0)})
    try:
        proxy = make_proxy([entry("gemini", fake, model=MODEL)], PROXY_TOKENS=TOKEN)
        done = run_gemini(gemini_cli, proxy, tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip() == ANSWER, done.stdout
        calls = [c for c in fake.calls if c.method == "POST"]
        assert len(calls) == 2 and all(c.key == gem_key(0) for c in calls)
        assert all(c.path == f"/v1beta/models/{MODEL}:streamGenerateContent" and
                   c.query == {"alt": ["sse"]} for c in calls)
        call, response = calls[1].body["contents"][-2:]
        assert call["parts"][0]["functionCall"]["name"] == "update_topic"
        assert response["parts"][0]["functionResponse"]["id"] == \
            call["parts"][0]["functionCall"]["id"]
    finally:
        fake.close()


def test_gemini_cli_through_the_proxy_to_an_openai_key(gemini_cli, make_proxy, tmp_path):
    fake = FakeOpenAI(valid_keys={good_key(0)})
    try:
        proxy = make_proxy([entry("openai", fake, model=MODEL)], PROXY_TOKENS=TOKEN)
        done = run_gemini(gemini_cli, proxy, tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip() == ANSWER, done.stdout
        bodies = [c.body for c in fake.calls if c.path == "/v1/chat/completions"]
        assert len(bodies) == 2 and bodies[0]["stream"] is True
        assert bodies[0]["tools"][0]["function"]["name"] == "update_topic"
        call, result = bodies[1]["messages"][-2:]
        assert result == {"role": "tool", "tool_call_id": call["tool_calls"][0]["id"],
                          "content": json.dumps({"error": "params must have required "
                                                          "property 'strategic_intent'"})}
    finally:
        fake.close()
