"""Claude Code 2.1.197's first request, replayed through the proxy as Claude Code sent it.

The fixture (tests/fixtures, prose replaced by its lengths) carries `?beta=true`, eight
betas, three cached system blocks, 24 tools, adaptive thinking, context management,
effort, metadata, max_tokens 64000, a mid-conversation system turn and stream: true.
"""
from __future__ import annotations

import json

import pytest
import requests
from fake_anthropic import FakeAnthropic
from fake_gemini import FakeGemini
from fake_openai import FakeOpenAI

TOKEN = "proxy-token-for-claude-code"
ANT_KEY = "sk-ant-api03-fixture0-0123456789abcdefgh"
OPENAI_KEY = "sk-good-0-0123456789abcdef"
GEMINI_KEY = "AIzaSyFixture0-0123456789abcdefghijklm"


def replay(proxy, recorded: dict, body: dict | None = None) -> requests.Response:
    """Send the recorded request to the proxy: its path, headers and body, our token."""
    headers = {k: v for k, v in recorded["headers"].items()
               if k.lower() not in ("connection", "accept-encoding", "content-length")}
    headers["x-api-key"] = TOKEN
    raw = json.dumps(body or recorded["body"]).encode()
    return requests.post(proxy.url + recorded["path"], data=raw, headers=headers,
                         stream=True, timeout=30)


def events(resp) -> list:
    out = []
    for block in resp.content.decode().strip().split("\n\n"):
        name, data = block.split("\n", 1)
        out.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


def streamed_text(resp) -> str:
    return "".join(e["delta"].get("text", "") for name, e in events(resp)
                   if name == "content_block_delta")


def test_to_an_anthropic_key_everything_passes_through(make_proxy, claude_code_request):
    fake = FakeAnthropic(valid_keys={ANT_KEY})
    try:
        proxy = make_proxy([{"provider": "anthropic", "model": "claude-opus-4-8",
                             "api_key": ANT_KEY, "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        resp = replay(proxy, claude_code_request)
        assert resp.status_code == 200, resp.text
        assert streamed_text(resp) == "Hello from Claude."
        call = fake.calls[-1]
        assert call.query == {"beta": ["true"]}
        assert call.raw == json.dumps(claude_code_request["body"]).encode()
        sent = claude_code_request["headers"]
        for name in ("anthropic-beta", "anthropic-version"):
            assert call.headers[name] == sent[name]
        assert call.headers["x-api-key"] == ANT_KEY
        assert [e[0] for e in events(resp)][:2] == ["message_start", "content_block_start"]
    finally:
        fake.close()


def test_to_an_openai_key_it_is_translated_and_nothing_refused(make_proxy,
                                                               claude_code_request):
    # As Claude Code sends it with ANTHROPIC_MODEL=gpt-4o.
    fake = FakeOpenAI(valid_keys={OPENAI_KEY})
    try:
        proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": OPENAI_KEY,
                             "base_url": fake.base_url}], PROXY_TOKENS=TOKEN)
        body = {**claude_code_request["body"], "model": "gpt-4o"}
        resp = replay(proxy, claude_code_request, body)
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-llm-proxy-max-tokens-capped"] == "16384"
        assert streamed_text(resp) == "Hello from the fake."
        sent = fake.calls[-1].body
        assert sent["max_completion_tokens"] == 16384
        assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
        assert [t["function"]["name"] for t in sent["tools"]] == \
            [t["name"] for t in body["tools"]]
        assert [m["role"] for m in sent["messages"]] == ["system", "user", "system"]
        assert sent["messages"][0]["content"] == "\n\n".join(b["text"] for b in body["system"])
        assert sent["messages"][1]["content"] == "\n\n".join(
            b["text"] for b in body["messages"][0]["content"])
        # Service tuning and Anthropic's thinking settings are gone; gpt-4o does not reason.
        assert not {"metadata", "context_management", "thinking", "output_config",
                    "reasoning_effort"} & set(sent)
        names = [name for name, _ in events(resp)]
        assert names[:2] == ["message_start", "ping"] and names[-1] == "message_stop"
        delta = [e for name, e in events(resp) if name == "message_delta"][0]
        assert delta["usage"]["output_tokens"] == 5
    finally:
        fake.close()


@pytest.mark.parametrize("model,reasoning", [("o3", ("reasoning_effort", "high")),
                                             ("gemini-2.5-pro", None)])
def test_to_reasoning_models_the_effort_is_carried(make_proxy, claude_code_request, model,
                                                   reasoning):
    gemini = model.startswith("gemini")
    fake = FakeGemini(valid_keys={GEMINI_KEY}) if gemini else FakeOpenAI(valid_keys={OPENAI_KEY})
    try:
        entry = {"provider": "gemini" if gemini else "openai", "model": model,
                 "api_key": GEMINI_KEY if gemini else OPENAI_KEY,
                 "base_url": fake.url if gemini else fake.base_url}
        proxy = make_proxy([entry], PROXY_TOKENS=TOKEN)
        resp = replay(proxy, claude_code_request, {**claude_code_request["body"], "model": model})
        assert resp.status_code == 200, resp.text
        assert [name for name, _ in events(resp)][-1] == "message_stop"
        sent = fake.calls[-1].body
        if gemini:  # 64000 fits Gemini 2.5 Pro; effort "high" is its thinking budget
            assert sent["generationConfig"]["maxOutputTokens"] == 64000
            assert sent["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 24576}
            assert len(sent["tools"][0]["functionDeclarations"]) == 24
        else:
            assert sent[reasoning[0]] == reasoning[1]
    finally:
        fake.close()
