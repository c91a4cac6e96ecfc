"""Gemini CLI 0.61.0's first request, replayed through the proxy as Gemini CLI sent it.

The fixture (tests/fixtures, prose replaced by its lengths) is `POST
/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse` with one user turn of two
text parts, a system instruction, eight function declarations with
`parametersJsonSchema`, and `generationConfig` {temperature 1, topP 0.95, topK 64,
thinkingConfig {includeThoughts, thinkingBudget 8192}}.
"""
from __future__ import annotations

import json
import os

import pytest
import requests
from anthropic_common import ant_key
from fake_anthropic import FakeAnthropic
from fake_gemini import FakeGemini
from fake_openai import FakeOpenAI
from gemini_api_common import TOKEN, entry
from gemini_common import gem_key
from helpers import good_key

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "gemini-cli-0.61.0-request.json")
MODEL = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def recorded() -> dict:
    with open(FIXTURE) as f:
        return json.load(f)


def replay(proxy, recorded: dict) -> requests.Response:
    """Send the recorded request to the proxy: its path, headers and body, our token."""
    headers = {k: v for k, v in recorded["headers"].items() if k != "accept-encoding"}
    headers["x-goog-api-key"] = TOKEN
    return requests.post(proxy.url + recorded["path"], data=json.dumps(recorded["body"]),
                         headers=headers, timeout=30)


def events(resp) -> list:
    return [json.loads(block.removeprefix("data: "))
            for block in resp.text.strip().split("\r\n\r\n")]


def test_the_fixture_is_what_gemini_cli_sends(recorded):
    assert recorded["path"] == f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    body = recorded["body"]
    assert set(body) == {"contents", "systemInstruction", "tools", "generationConfig"}
    assert body["generationConfig"]["topK"] == 64
    assert len(body["tools"][0]["functionDeclarations"]) == 8


def test_to_a_gemini_key_the_body_passes_through_byte_for_byte(make_proxy, recorded):
    fake = FakeGemini(valid_keys={gem_key(0)})
    try:
        proxy = make_proxy([entry("gemini", fake, model=MODEL)], PROXY_TOKENS=TOKEN)
        resp = replay(proxy, recorded)
        assert resp.status_code == 200, resp.text
        call = fake.calls[-1]
        assert call.raw == json.dumps(recorded["body"]).encode()
        assert call.key == gem_key(0) and call.query == {"alt": ["sse"]}
        assert events(resp)[-1]["candidates"][0]["content"]["parts"][0]["functionCall"][
            "name"] == "update_topic"
    finally:
        fake.close()


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_to_other_keys_it_is_translated_and_nothing_refused(make_proxy, recorded, provider):
    fake = FakeOpenAI(valid_keys={good_key(0)}) if provider == "openai" else \
        FakeAnthropic(valid_keys={ant_key(0)})
    try:
        proxy = make_proxy([entry(provider, fake, model=MODEL)], PROXY_TOKENS=TOKEN)
        resp = replay(proxy, recorded)
        assert resp.status_code == 200, resp.text
        sent = [c.body for c in fake.calls if c.method == "POST"][-1]
        declared = [d["name"] for d in recorded["body"]["tools"][0]["functionDeclarations"]]
        names = [t["function"]["name"] if provider == "openai" else t["name"]
                 for t in sent["tools"]]
        assert names == declared
        if provider == "openai":
            assert sent["messages"][0]["role"] == "system"
            assert "top_k" not in sent and sent["temperature"] == 1
        else:
            assert sent["top_k"] == 64
        got = events(resp)
        assert got[-1]["candidates"][0]["finishReason"] == "STOP"
        call = [p for e in got for p in e["candidates"][0]["content"]["parts"]
                if "functionCall" in p]
        assert call[0]["functionCall"]["name"] == "update_topic" and call[0]["functionCall"]["id"]
    finally:
        fake.close()
