"""Codex CLI 0.171.0's first request, replayed through the proxy as Codex sent it.

The fixture (tests/fixtures, prose replaced by its lengths) is `POST /v1/responses` with
`stream: true`, `store: false`, four input messages (two developer, two user), eight
function tools, a `namespace` tool of five more, a `web_search` tool, `reasoning:
{"summary": "auto"}`, `include: ["reasoning.encrypted_content"]`, `prompt_cache_key` and
`client_metadata`.
"""
from __future__ import annotations

import json

import requests
from anthropic_common import ant_key
from fake_anthropic import FakeAnthropic
from fake_openai import FakeOpenAI
from responses_common import OPENAI_KEY, TOKEN, assert_well_formed, named_events


def replay(proxy, recorded: dict, body: dict | None = None) -> requests.Response:
    """Send the recorded request to the proxy: its path, headers and body, our token."""
    headers = {k: v for k, v in recorded["headers"].items()
               if k.lower() not in ("connection", "accept-encoding", "content-length")}
    headers["authorization"] = f"Bearer {TOKEN}"
    raw = json.dumps(body or recorded["body"]).encode()
    return requests.post(proxy.url + recorded["path"], data=raw, headers=headers, timeout=30)


def test_to_an_openai_key_the_body_passes_through_byte_for_byte(make_proxy, codex_request):
    fake = FakeOpenAI(valid_keys={OPENAI_KEY})
    try:
        proxy = make_proxy([{"provider": "openai", "model": "gpt-5.1-codex",
                             "api_key": OPENAI_KEY, "base_url": fake.base_url}],
                           PROXY_TOKENS=TOKEN)
        resp = replay(proxy, codex_request)
        assert resp.status_code == 200, resp.text
        call = fake.calls[-1]
        assert call.path == "/v1/responses"
        assert call.raw == json.dumps(codex_request["body"]).encode()
        assert call.headers["authorization"] == f"Bearer {OPENAI_KEY}"
        events = named_events(resp.content)
        assert_well_formed(events)
        # The fake calls the first function tool offered to a fresh question.
        assert events[-1][1]["response"]["output"][0]["name"] == "exec_command"
        assert [n for n, _ in events].count("response.function_call_arguments.delta") == 1
    finally:
        fake.close()


def test_to_an_anthropic_key_it_is_translated_and_nothing_refused(make_proxy, codex_request):
    # As Codex sends it with `-m claude-sonnet-4-5`.
    fake = FakeAnthropic(valid_keys={ant_key(0)})
    try:
        proxy = make_proxy([{"provider": "anthropic", "model": "claude-sonnet-4-5",
                             "api_key": ant_key(0), "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        body = {**codex_request["body"], "model": "claude-sonnet-4-5"}
        resp = replay(proxy, codex_request, body)
        assert resp.status_code == 200, resp.text
        sent = fake.bodies[-1]
        functions = [t["name"] for t in body["tools"] if t["type"] == "function"]
        namespace = next(t for t in body["tools"] if t["type"] == "namespace")
        expected = functions[:4] + [f"{namespace['name']}__{t['name']}"
                                    for t in namespace["tools"]] + functions[4:]
        assert [t["name"] for t in sent["tools"]] == expected  # web_search left out
        assert sent["stream"] is True
        developer = body["input"][0]["content"][0]["text"]
        assert developer in json.dumps(sent["system"], ensure_ascii=False)
        assert [m["role"] for m in sent["messages"]] == ["user"]
        assert "say hi" in json.dumps(sent["messages"])
        # Service tuning and OpenAI's reasoning settings are gone.
        assert not {"metadata", "thinking", "output_config"} & set(sent)
        events = named_events(resp.content)
        assert_well_formed(events)
        # The fake calls the first tool when tools are offered to a fresh question.
        done = events[-1][1]["response"]
        assert [i["type"] for i in done["output"]] == ["message", "function_call"]
        assert done["output"][1]["name"] == "exec_command"
        assert json.loads(done["output"][1]["arguments"]) == {"city": "Paris",
                                                               "unit": "celsius"}
        assert done["usage"]["input_tokens"] == 25 and done["usage"]["output_tokens"] > 0
    finally:
        fake.close()
