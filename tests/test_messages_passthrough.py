"""Messages requests to Anthropic keys: the body and answer as they are, on the shared pool.

Rotation, failover before the first byte, cooldowns and statistics work as for chat
requests; the fake Anthropic API records what reached it.
"""
from __future__ import annotations

import json

import anthropic
import pytest
import requests
from fake_anthropic import FakeAnthropic, error, stream_events
from fake_upstream import Reply, Stream, sse
from helpers import wait_for

MODEL = "claude-test"
HI = [{"role": "user", "content": "Hi"}]
BODY = {"model": MODEL, "max_tokens": 128, "messages": HI}
BETAS = "interleaved-thinking-2025-05-14,context-management-2025-06-27"


def ant_key(i: int) -> str:
    return f"sk-ant-api03-pass{i}-0123456789abcdefghij"


@pytest.fixture
def fake():
    upstream = FakeAnthropic(valid_keys={ant_key(i) for i in range(4)})
    yield upstream
    upstream.close()


def entries(fake, n: int) -> list:
    return [{"provider": "anthropic", "model": MODEL, "api_key": ant_key(i),
             "base_url": fake.url} for i in range(n)]


def key_stats(proxy) -> list:
    return [k["stats"] for k in proxy.admin("GET", "/api/keys").json()["keys"]]


def test_body_headers_and_query_pass_through_as_sent(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1), PROXY_TOKENS="client-token-abcdef123")
    raw = json.dumps({"model": MODEL, "max_tokens": 128, "messages": HI,
                      "metadata": {"user_id": "u-1"}, "temperature": 0.2},
                     separators=(", ", ": ")).encode()
    resp = proxy.messages(raw, path="/v1/messages?beta=true", headers={
        "x-api-key": "client-token-abcdef123", "anthropic-beta": BETAS,
        "anthropic-version": "2023-06-01", "content-type": "application/json",
        "User-Agent": "claude-cli/2.1.197", "x-app": "cli"})
    assert resp.status_code == 200
    assert resp.json()["content"] == [{"type": "text", "text": "Hello from Claude."}]
    call = fake.calls[-1]
    assert (call.path, call.query) == ("/v1/messages", {"beta": ["true"]})
    assert call.raw == raw  # byte for byte
    assert call.headers["x-api-key"] == ant_key(0)
    assert call.headers["anthropic-version"] == "2023-06-01"
    assert call.headers["anthropic-beta"] == BETAS
    assert "authorization" not in call.headers and "x-app" not in call.headers
    assert "claude-cli" not in call.headers.get("user-agent", "")


def test_the_api_version_is_set_when_the_client_sent_none(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1))
    resp = requests.post(proxy.url + "/v1/messages", json=BODY, timeout=10)
    assert resp.status_code == 200
    assert fake.calls[-1].headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in fake.calls[-1].headers


def test_stream_is_relayed_event_by_event(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1))
    resp = proxy.messages({**BODY, "stream": True}, stream=True)
    assert resp.status_code == 200
    sent = stream_events([{"type": "text", "text": "Hello from Claude."}], model=MODEL,
                         usage={"input_tokens": 21, "output_tokens": 3,
                                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4})
    got = resp.content.split(b"\n\n")[:-1]
    # Every event as the fake framed it, the message ids aside (each answer has its own).
    assert [_without_id(e) for e in got] == [_without_id(e.rstrip(b"\n")) for e in sent]


def _without_id(event: bytes) -> bytes:
    name, data = event.split(b"\n", 1)
    payload = json.loads(data.removeprefix(b"data: "))
    payload.get("message", {}).pop("id", None)
    return name + b"\n" + json.dumps(payload).encode()


def test_requests_rotate_round_robin_over_the_models_keys(make_proxy, fake):
    proxy = make_proxy(entries(fake, 3))
    client = proxy.anthropic()
    for _ in range(6):
        client.messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert fake.keys_used() == [ant_key(i % 3) for i in range(6)]


@pytest.mark.parametrize("answer,failure", [
    (error(429, "rate_limit_error", "Number of requests has exceeded your rate limit",
           {"retry-after": "30"}), "rate_limited"),
    (error(529, "overloaded_error", "Overloaded"), "server_error"),
    (error(500, "api_error", "Internal server error"), "server_error"),
    (error(401, "authentication_error", "invalid x-api-key"), "auth"),
])
def test_failover_before_the_first_byte(make_proxy, fake, answer, failure):
    proxy = make_proxy(entries(fake, 2))
    fake.fail(ant_key(0), answer)
    message = proxy.anthropic().messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert message.content[0].text == "Hello from Claude."
    assert fake.keys_used() == [ant_key(0), ant_key(1)]
    assert key_stats(proxy)[0]["failures_by_kind"] == {failure: 1}


def test_a_rate_limited_key_cools_down_and_is_skipped(make_proxy, fake):
    proxy = make_proxy(entries(fake, 2))
    fake.fail(ant_key(0), error(429, "rate_limit_error", "slow down", {"retry-after": "30"}))
    client = proxy.anthropic()
    for _ in range(3):
        client.messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert fake.keys_used() == [ant_key(0), ant_key(1), ant_key(1), ant_key(1)]
    assert proxy.admin("GET", "/api/keys").json()["keys"][0]["status"] == "cooling_down"


def test_stream_fails_over_on_an_error_right_after_message_start(make_proxy, fake):
    # Anthropic can answer 200 and then send an overloaded error before any content.
    proxy = make_proxy(entries(fake, 2))
    start = stream_events([], model=MODEL)[0]
    fake.fail(ant_key(0), Stream([start, sse({"type": "ping"}, "ping"),
                                  sse({"type": "error", "error": {
                                      "type": "overloaded_error", "message": "Overloaded"}},
                                      "error")]))
    with proxy.anthropic().messages.stream(model=MODEL, max_tokens=16, messages=HI) as s:
        message = s.get_final_message()
    assert message.content[0].text == "Hello from Claude."
    assert fake.keys_used() == [ant_key(0), ant_key(1)]


def test_an_error_mid_stream_ends_it_with_an_error_event(make_proxy, fake):
    proxy = make_proxy(entries(fake, 2))
    events = stream_events([{"type": "text", "text": "Hello there, friend."}], model=MODEL)
    fake.fail(ant_key(0), Stream(events[:4] + [sse({"type": "error", "error": {
        "type": "api_error", "message": "Internal server error"}}, "error")]))
    with pytest.raises(anthropic.APIStatusError) as caught:
        with proxy.anthropic().messages.stream(model=MODEL, max_tokens=16, messages=HI) as s:
            s.get_final_message()
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["message"] == "Internal server error"
    assert fake.keys_used() == [ant_key(0)]  # bytes had reached the client: no retry
    assert key_stats(proxy)[0]["failures_by_kind"] == {"stream_broken": 1}


def test_a_stream_cut_before_message_stop_ends_with_an_error_event(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1))
    events = stream_events([{"type": "text", "text": "Hello there, friend."}], model=MODEL)
    fake.fail(ant_key(0), Stream(events[:-2]))
    resp = proxy.messages({**BODY, "stream": True}, stream=True)
    last = resp.content.strip().split(b"\n\n")[-1]
    assert last.startswith(b"event: error\ndata: ")
    assert json.loads(last.split(b"data: ", 1)[1])["error"]["type"] == "api_error"


def test_anthropics_request_errors_come_back_as_they_are_and_are_not_retried(make_proxy,
                                                                            fake):
    proxy = make_proxy(entries(fake, 2))
    with pytest.raises(anthropic.BadRequestError) as caught:
        proxy.anthropic().messages.create(model=MODEL, max_tokens=16,
                                          messages=[{"role": "user", "content": " "}])
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert "non-empty content" in caught.value.body["error"]["message"]
    assert len(fake.calls) == 1


def test_usage_reaches_key_statistics_for_both_answer_kinds(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1))
    client = proxy.anthropic()
    client.messages.create(model=MODEL, max_tokens=16, messages=HI)
    with client.messages.stream(model=MODEL, max_tokens=16, messages=HI) as s:
        s.get_final_message()
    stats = key_stats(proxy)[0]
    # input 21 + 4 read from the cache; output 3 each
    assert (stats["requests"], stats["successes"]) == (2, 2)
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (50, 6)


def test_a_model_served_under_another_name_upstream_gets_its_name(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1))
    key_id = proxy.pool.keys()[0].id
    lease = proxy.pool.lease(key_id)._replace(upstream_model="claude-upstream-name")
    from llm_proxy.formats.anthropic_messages.passthrough import AnthropicRoute
    from llm_proxy.formats.anthropic_messages.request import MessagesRequest
    raw = json.dumps(BODY).encode()
    request = AnthropicRoute(MessagesRequest(BODY, raw, MODEL, False)).upstream_request(lease)
    assert json.loads(request.body)["model"] == "claude-upstream-name"
    same = AnthropicRoute(MessagesRequest(BODY, raw, MODEL, False)).upstream_request(
        proxy.pool.lease(key_id))
    assert same.body is raw


def test_count_tokens_is_anthropics_own_call(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1))
    counted = proxy.anthropic().messages.count_tokens(model=MODEL, messages=HI,
                                                      system="Be brief.")
    call = fake.calls[-1]
    assert call.path == "/v1/messages/count_tokens"
    assert call.body == {"model": MODEL, "messages": HI, "system": "Be brief."}
    assert counted.input_tokens == max(1, len(json.dumps(call.body)) // 4)


def test_a_base_url_that_leads_back_to_the_proxy_marks_the_key(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1))
    loop_key = "sk-ant-api03-loop0-0123456789abcdefghij"
    proxy.admin("POST", "/api/keys", {"provider": "anthropic", "model": MODEL,
                                      "api_key": loop_key, "base_url": proxy.url})
    client = proxy.anthropic()
    for _ in range(2):
        assert client.messages.create(model=MODEL, max_tokens=16, messages=HI).content
    keys = {k["api_key"][:8]: k for k in proxy.admin("GET", "/api/keys").json()["keys"]}
    looped = [k for k in keys.values() if k["base_url"] == proxy.url][0]
    assert looped["stats"]["failures_by_kind"] == {"loop": 1}


def test_metrics_and_request_lines_name_the_client_format(make_proxy, fake, proxy_logs):
    proxy = make_proxy(entries(fake, 1))
    proxy.anthropic().messages.create(model=MODEL, max_tokens=16, messages=HI)
    lines = [line for line in proxy_logs if "llm_proxy.attempts: request " in line]
    assert "format=anthropic-messages" in lines[-1] and "provider=anthropic" in lines[-1]
    answered = 'llm_proxy_responses_total{format="anthropic-messages",status_class="2xx"} 1.0'
    # The answer is counted when the server closes its body, a moment after the client
    # has read it: poll for that count rather than race it.
    scrapes = []

    def counted() -> bool:
        scrapes.append(requests.get(proxy.url + "/metrics", timeout=10).text)
        return answered in scrapes[-1]

    assert wait_for(counted, timeout=5, interval=0.02)
    assert ('llm_proxy_requests_total{format="anthropic-messages",model="claude-test",'
            'provider="anthropic",status_class="2xx",stream="false"} 1.0') in scrapes[-1]


def test_responses_carry_the_upstream_request_id(make_proxy, fake):
    proxy = make_proxy(entries(fake, 1))
    raw = proxy.anthropic().messages.with_raw_response.create(model=MODEL, max_tokens=16,
                                                              messages=HI)
    assert raw.headers["x-request-id"] == "req_fake"
    assert raw.parse().content[0].text == "Hello from Claude."


def test_answer_that_is_not_a_message_fails_over(make_proxy, fake):
    proxy = make_proxy(entries(fake, 2))
    fake.fail(ant_key(0), Reply(200, {"unexpected": True}))
    message = proxy.anthropic().messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert message.content[0].text == "Hello from Claude."
    assert fake.keys_used() == [ant_key(0), ant_key(1)]
