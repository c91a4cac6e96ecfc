"""POST /v1/messages/count_tokens: each provider's own count, or the proxy's upper bound."""
from __future__ import annotations

import base64
import json
import random

import pytest
from bpe_openai import get_encoding
from fake_anthropic import FakeAnthropic
from fake_gemini import FakeGemini
from fake_openai import FakeOpenAI

from llm_proxy.formats.anthropic_messages.chat_request import chat_body
from llm_proxy.formats.anthropic_messages.estimate import estimate_tokens

ANT_KEY = "sk-ant-api03-count0-0123456789abcdefghij"
OPENAI_KEY = "sk-good-0-0123456789abcdef"
GEMINI_KEY = "AIzaSyCount0-0123456789abcdefghijklmn"
HI = [{"role": "user", "content": "Hi"}]
TOOL = {"name": "get_weather", "description": "Weather of a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.fixture
def fakes():
    out = (FakeAnthropic(valid_keys={ANT_KEY}), FakeOpenAI(valid_keys={OPENAI_KEY}),
           FakeGemini(valid_keys={GEMINI_KEY}))
    yield out
    for fake in out:
        fake.close()


@pytest.fixture
def proxy(make_proxy, fakes):
    ant, oai, gem = fakes
    return make_proxy([
        {"provider": "anthropic", "model": "claude-test", "api_key": ANT_KEY, "base_url": ant.url},
        {"provider": "openai", "model": "gpt-4o", "api_key": OPENAI_KEY, "base_url": oai.base_url},
        {"provider": "deepseek", "model": "deepseek-chat", "api_key": OPENAI_KEY,
         "base_url": oai.base_url},
        {"provider": "gemini", "model": "gemini-2.5-flash", "api_key": GEMINI_KEY,
         "base_url": gem.url}])


def test_gemini_keys_count_with_count_tokens(proxy, fakes):
    client = proxy.anthropic()
    raw = client.messages.with_raw_response.count_tokens(
        model="gemini-2.5-flash", system="Be brief.", tools=[TOOL], messages=HI)
    call = fakes[2].calls[-1]
    assert call.path == "/v1beta/models/gemini-2.5-flash:countTokens"
    assert call.headers["x-goog-api-key"] == GEMINI_KEY
    request = call.body["generateContentRequest"]
    assert request["model"] == "models/gemini-2.5-flash"
    assert request["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert request["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert raw.parse().input_tokens == max(1, len(json.dumps(request)) // 4)
    assert "x-llm-proxy-token-count" not in raw.headers


@pytest.mark.parametrize("model", ["gpt-4o", "deepseek-chat"])
def test_other_keys_get_an_estimate_said_so_in_a_header(proxy, fakes, model):
    raw = proxy.anthropic().messages.with_raw_response.count_tokens(model=model, messages=HI)
    assert raw.headers["x-llm-proxy-token-count"] == "estimate"
    assert raw.parse().input_tokens >= 1
    assert not fakes[1].calls  # the proxy answers it itself
    stats = [k["stats"] for k in proxy.admin("GET", "/api/keys").json()["keys"]
             if k["model"] == model][0]
    assert (stats["requests"], stats["successes"]) == (1, 1)


def test_anthropic_count_is_passed_through(proxy, fakes):
    counted = proxy.anthropic().messages.count_tokens(model="claude-test", messages=HI)
    assert fakes[0].calls[-1].path == "/v1/messages/count_tokens"
    assert counted.input_tokens == max(1, len(json.dumps(fakes[0].calls[-1].body)) // 4)


def test_count_tokens_needs_no_max_tokens_and_refuses_a_stream(proxy):
    resp = proxy.messages({"model": "gpt-4o", "messages": HI}, path="/v1/messages/count_tokens")
    assert resp.status_code == 200 and resp.json()["input_tokens"] > 0
    resp = proxy.messages({"model": "gpt-4o", "messages": HI, "stream": True},
                          path="/v1/messages/count_tokens")
    assert resp.status_code == 400 and "stream" in resp.json()["error"]["message"]


def test_an_estimate_is_refused_for_a_pdf_it_cannot_bound(proxy):
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    resp = proxy.messages({"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": pdf}}]}]}, path="/v1/messages/count_tokens")
    assert resp.status_code == 400
    assert "PDF" in resp.json()["error"]["message"]


# -- the bound ------------------------------------------------------------------------------

ENCODINGS = [get_encoding("o200k_base"), get_encoding("cl100k_base")]
SAMPLES = [
    "Hello, world!", "    indented\n\n\n\t\tcode()  {}", "你好，世界。日本語のテキスト。",
    "🎉🎉🎉 emoji 👩‍👩‍👧‍👦 family", "a" * 500, " ".join(str(i) for i in range(300)),
    "Ünïcödé ßtrïng wïth äccents", "def f(x):\n    return x ** 2  # square\n" * 20,
    json.dumps({"deeply": {"nested": [1, 2, {"json": "value"}]}}),
]


def _true_count(chat: dict, encoding) -> int:
    """OpenAI's count of a chat body, per the cookbook (3 per message, 3 priming), tool
    definitions as their JSON."""
    total = 3
    for message in chat["messages"]:
        total += 3 + len(encoding.encode(message["role"]))
        content = message.get("content")
        texts = [content] if isinstance(content, str) else \
            [p["text"] for p in content or () if p.get("type") == "text"]
        total += sum(len(encoding.encode(t)) for t in texts)
        total += sum(765 for p in content or () if isinstance(p, dict)
                     and p.get("type") == "image_url")
        for call in message.get("tool_calls") or ():
            total += len(encoding.encode(json.dumps(call["function"])))
    if chat.get("tools"):
        total += len(encoding.encode(json.dumps(chat["tools"])))
    return total


def _random_body(rng: random.Random) -> dict:
    def text():
        return " ".join(rng.choice(SAMPLES) for _ in range(rng.randint(1, 4)))
    messages = []
    for i in range(rng.randint(1, 6)):
        messages.append({"role": "user", "content": text()})
        messages.append({"role": "assistant", "content": [
            {"type": "text", "text": text()},
            {"type": "tool_use", "id": f"toolu_{i}", "name": "get_weather",
             "input": {"city": text()[:40]}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": text()}]})
    return {"model": "gpt-4o", "system": text(), "tools": [TOOL], "messages": messages}


def test_the_estimate_is_never_below_the_true_count():
    rng = random.Random(7)
    for _ in range(60):
        body = _random_body(rng)
        chat = chat_body(body, "openai", "gpt-4o").body
        estimate = estimate_tokens(chat, "gpt-4o")
        for encoding in ENCODINGS:
            assert estimate >= _true_count(chat, encoding)


def test_the_estimate_of_the_claude_code_fixture_is_above_its_count(fixture_body):
    body = {k: v for k, v in fixture_body.items() if k not in ("max_tokens", "stream")}
    chat = chat_body(body, "openai", "gpt-4o").body
    estimate = estimate_tokens(chat, "gpt-4o")
    for encoding in ENCODINGS:
        assert _true_count(chat, encoding) <= estimate
