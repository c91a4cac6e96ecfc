"""Bad Responses requests get OpenAI's envelope and status, never a 500; what a stateless
provider cannot carry is a 400 naming it; metrics and logs name the format."""
from __future__ import annotations

import json

import pytest
from anthropic_common import ant_key
from fake_anthropic import FakeAnthropic
from responses_common import TOKEN, WEATHER

CLAUDE = "claude-sonnet-4-5"


@pytest.fixture
def fake():
    upstream = FakeAnthropic(valid_keys={ant_key(0)})
    yield upstream
    upstream.close()


@pytest.fixture
def proxy(make_proxy, fake):
    return make_proxy([{"provider": "anthropic", "model": CLAUDE, "api_key": ant_key(0),
                        "base_url": fake.url}], PROXY_TOKENS=TOKEN)


def post(proxy, body, token=TOKEN):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return proxy.http.post(proxy.base + "/responses", data=raw, headers=headers)


HI = {"model": CLAUDE, "input": "hi"}


@pytest.mark.parametrize("body,status,param", [
    (b"{not json", 400, None),
    (b"[]", 400, None),
    ({"input": "hi"}, 400, "model"),
    ({"model": 3, "input": "hi"}, 400, "model"),
    ({"model": CLAUDE}, 400, "input"),
    ({"model": CLAUDE, "input": 7}, 400, "input"),
    ({"model": CLAUDE, "input": ["hi"]}, 400, "input[0]"),
    ({**HI, "stream": "yes"}, 400, "stream"),
    ({**HI, "instructions": ["a"]}, 400, "instructions"),
    ({"model": "gpt-nope", "input": "hi"}, 404, "model"),
    ({**HI, "store": True}, 400, "store"),
    ({**HI, "previous_response_id": "resp_1"}, 400, "previous_response_id"),
    ({**HI, "conversation": "conv_1"}, 400, "conversation"),
    ({**HI, "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, 400,
     "tools[0].type"),
    ({**HI, "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}, 400,
     "tools[0].type"),
    ({**HI, "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}, 400,
     "tool_choice"),
    ({**HI, "tools": [WEATHER, {"type": "custom", "name": "x"}]}, 400, "tools[1].type"),
    ({**HI, "tools": "all"}, 400, "tools"),
    ({**HI, "input": [{"type": "item_reference", "id": "msg_1"}]}, 400, "input[0].type"),
    ({**HI, "input": [{"role": "robot", "content": "x"}]}, 400, "input[0].role"),
    ({**HI, "input": [{"role": "user", "content": [{"type": "input_image",
                                                    "file_id": "file_1"}]}]}, 400,
     "input[0].content[0]"),
    ({**HI, "input": [{"type": "function_call_output", "output": "x"}]}, 400,
     "input[0].call_id"),
    ({**HI, "max_output_tokens": "many"}, 400, "max_output_tokens"),
    ({**HI, "temperature": "hot"}, 400, "temperature"),
    ({**HI, "reasoning": {"effort": "extreme"}}, 400, "reasoning.effort"),
    ({**HI, "text": {"format": {"type": "yaml"}}}, 400, "text.format.type"),
    ({**HI, "frobnicate": 1}, 400, "frobnicate"),
    ({**HI, "include": ["message.output_text.logprobs"]}, 400, "include"),
])
def test_bad_input_in_openai_envelope(proxy, fake, body, status, param):
    resp = post(proxy, body)
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    assert err["param"] == param
    assert fake.bodies == []


def test_a_missing_or_wrong_token_is_401(proxy):
    for token in (None, "wrong"):
        resp = post(proxy, HI, token=token)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "invalid_api_key"


def test_store_absent_or_false_is_served_statelessly(proxy, fake):
    for body in (HI, {**HI, "store": False}):
        resp = post(proxy, body)
        assert resp.status_code == 200, resp.text
        assert resp.json()["store"] is False


def test_an_offered_web_search_is_left_out(proxy, fake):
    resp = post(proxy, {**HI, "tools": [{"type": "web_search", "external_web_access": False},
                                        WEATHER]})
    assert resp.status_code == 200, resp.text
    assert [t["name"] for t in fake.bodies[-1]["tools"]] == ["get_weather"]


def test_an_upstream_refusal_keeps_its_status(proxy, fake):
    resp = post(proxy, {**HI, "temperature": 5})  # Anthropic takes 0 to 1
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_request_error"


def test_metrics_and_logs_name_the_format(proxy, proxy_logs):
    assert post(proxy, HI).status_code == 200
    assert post(proxy, {"input": "hi"}).status_code == 400
    text = proxy.http.get(proxy.url + "/metrics").text
    assert 'format="openai-responses"' in text
    line = [m for m in text.splitlines() if m.startswith("llm_proxy_requests_total{")
            and 'format="openai-responses"' in m][0]
    assert 'provider="anthropic"' in line and 'status_class="2xx"' in line
    assert any("format=openai-responses" in line for line in proxy_logs)
    assert any(m.startswith("llm_proxy_responses_total{") and 'status_class="4xx"' in m
               and 'format="openai-responses"' in m for m in text.splitlines())
