"""Operations: /healthz, /metrics after real traffic, and the log lines."""
from __future__ import annotations

import json
import logging
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import good_key, key_entry

BAD_KEY = "sk-bad-0-0123456789abcdef"
HI = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def scrape(proxy) -> dict:
    """{(sample name, sorted label items): value} of the proxy's /metrics."""
    resp = requests.get(proxy.url + "/metrics", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def settled_scrape(proxy, responses: int) -> dict:
    """A scrape taken once `responses` chat answers are counted and none is in flight.

    A stream's client has all its bytes a moment before the server closes the response
    and counts it; a scrape in between would see the stream still running.
    """
    deadline = time.monotonic() + 5
    while True:
        samples = scrape(proxy)
        counted = sum(v for (name, _), v in samples.items()
                      if name == "llm_proxy_responses_total")
        done = counted >= responses and not value(samples, "llm_proxy_requests_in_flight")
        if done or time.monotonic() > deadline:
            return samples
        time.sleep(0.02)


def test_healthz_answers_without_token_or_upstream_call(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0), key_entry(openai_upstream, 1)],
                       PROXY_TOKENS="client-token-123456")
    resp = requests.get(proxy.url + "/healthz", timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["keys"] == {"active": 2, "cooling_down": 0, "invalid": 0, "disabled": 0}
    assert body["models"] == 1
    assert openai_upstream.calls == []


def test_healthz_counts_keys_by_state_after_failover(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, key=BAD_KEY), key_entry(openai_upstream, 0),
                        key_entry(openai_upstream, 1)])
    proxy.admin("PATCH", f"/api/keys/{proxy.pool.keys()[2].id}", {"enabled": False})
    assert proxy.chat(HI).status_code == 200
    keys = requests.get(proxy.url + "/healthz", timeout=10).json()["keys"]
    assert keys == {"active": 1, "cooling_down": 0, "invalid": 1, "disabled": 1}


def test_metrics_move_by_the_traffic_sent(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, key=BAD_KEY), key_entry(openai_upstream, 0)],
                       PROXY_TOKENS="client-token-123456")
    token = "client-token-123456"
    before = scrape(proxy)
    for _ in range(3):
        assert proxy.chat(HI, token=token).status_code == 200
    for _ in range(2):
        resp = proxy.chat({**HI, "stream": True}, token=token)
        assert resp.status_code == 200 and resp.text.endswith("data: [DONE]\n\n")
    assert proxy.chat({**HI, "model": "nope"}, token=token).status_code == 404
    assert proxy.chat(HI).status_code == 401
    assert proxy.chat({**HI, "messages": "hi"}, token=token).status_code == 400
    counted_before = sum(v for (name, _), v in before.items()
                         if name == "llm_proxy_responses_total")
    after = settled_scrape(proxy, counted_before + 8)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("llm_proxy_requests_total", provider="openai", model="gpt-4o",
                 status_class="2xx", stream="false", format="openai-chat") == 3
    assert moved("llm_proxy_requests_total", provider="openai", model="gpt-4o",
                 status_class="2xx", stream="true", format="openai-chat") == 2
    assert moved("llm_proxy_responses_total", status_class="2xx", format="openai-chat") == 5
    assert moved("llm_proxy_responses_total", status_class="4xx", format="openai-chat") == 3
    # The first request met the bad key (401) and failed over once; the key stays invalid.
    assert moved("llm_proxy_failovers_total", reason="auth") == 1
    # Non-streamed attempts that got an answer: the 401 and the three 200s.
    assert moved("llm_proxy_upstream_latency_seconds_count", provider="openai",
                 model="gpt-4o") == 4
    assert moved("llm_proxy_stream_first_byte_seconds_count", provider="openai",
                 model="gpt-4o") == 2
    assert value(after, "llm_proxy_stream_first_byte_seconds_sum", provider="openai",
                 model="gpt-4o") > 0
    assert value(after, "llm_proxy_keys", state="invalid") == 1
    assert value(after, "llm_proxy_keys", state="active") == 1
    assert value(after, "llm_proxy_requests_in_flight") == 0


def test_in_flight_counts_an_open_stream_until_it_ends(make_proxy, openai_upstream):
    openai_upstream.stream_interval = 0.3
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    got = {}

    def stream():
        got["resp"] = proxy.chat({**HI, "stream": True}, timeout=30)

    thread = threading.Thread(target=stream)
    thread.start()
    deadline = time.monotonic() + 10
    in_flight = 0.0
    while time.monotonic() < deadline and not in_flight:
        in_flight = value(scrape(proxy), "llm_proxy_requests_in_flight")
        time.sleep(0.05)
    assert in_flight == 1
    thread.join(30)
    assert got["resp"].status_code == 200
    # The client holds the last byte a moment before the server closes the response.
    assert value(settled_scrape(proxy, 1), "llm_proxy_requests_in_flight") == 0


def test_apps_in_one_process_keep_separate_metrics(make_proxy, openai_upstream):
    first = make_proxy([key_entry(openai_upstream, 0)])
    second = make_proxy([key_entry(openai_upstream, 1)])
    assert first.chat(HI).status_code == 200
    labels = dict(provider="openai", model="gpt-4o", status_class="2xx", stream="false",
                  format="openai-chat")
    assert value(scrape(first), "llm_proxy_requests_total", **labels) == 1
    assert value(scrape(second), "llm_proxy_requests_total", **labels) == 0


def test_request_log_line_has_the_fields_and_no_secret(make_proxy, openai_upstream,
                                                        proxy_logs):
    proxy = make_proxy([key_entry(openai_upstream, key=BAD_KEY), key_entry(openai_upstream, 0)])
    bad_id, good_id = (k.id for k in proxy.pool.keys())
    assert proxy.chat(HI).status_code == 200
    assert proxy.chat({**HI, "stream": True}).status_code == 200
    requests_logged = [line for line in proxy_logs if "llm_proxy.attempts: request " in line]
    assert len(requests_logged) == 2
    first, second = requests_logged
    for field in ("model=gpt-4o", "provider=openai", f"key={good_id}", "status=200",
                  "attempts=2", "latency_ms=", "stream=false", "format=openai-chat"):
        assert field in first
    assert "stream=true" in second and "attempts=1" in second
    failovers = [line for line in proxy_logs if " failover " in line]
    assert len(failovers) == 1
    assert f"from_key={bad_id}" in failovers[0] and f"to_key={good_id}" in failovers[0]
    assert "reason=auth" in failovers[0]
    state = [line for line in proxy_logs if "key state " in line]
    assert len(state) == 1 and f"key={bad_id}" in state[0] and "to=invalid" in state[0]
    text = "\n".join(proxy_logs)
    for secret in (BAD_KEY, good_key(0), BAD_KEY[8:-4], good_key(0)[8:-4]):
        assert secret not in text


def test_json_logs_are_one_object_per_line(make_proxy, openai_upstream, capsys):
    proxy = make_proxy([key_entry(openai_upstream, key=BAD_KEY), key_entry(openai_upstream, 0)],
                       LOG_FORMAT="json")
    assert proxy.chat(HI).status_code == 200
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    events = {line.get("event"): line for line in lines}
    request = events["request"]
    assert request["model"] == "gpt-4o" and request["provider"] == "openai"
    assert request["status"] == 200 and request["attempts"] == 2
    assert request["stream"] is False and isinstance(request["latency_ms"], float)
    assert request["level"] == "INFO" and request["time"].endswith("Z")
    assert events["failover"]["reason"] == "auth"
    assert events["key state"]["to"] == "invalid"
    assert BAD_KEY not in out and good_key(0) not in out


@pytest.mark.parametrize("message,event,fields", [
    ("key tested key=ab12 model=m provider=openai ok=false status=401",
     "key tested", {"key": "ab12", "ok": False, "status": 401}),
    ("keys added count=2 ids=a,b", "keys added", {"count": 2, "ids": "a,b"}),
    ("request model=my model provider=openai-compatible stream=true",
     "request", {"model": "my model", "stream": True}),
    # A URL's "#token=" is no field: the line has none.
    ("Web UI: http://localhost:7788/static/index.html#token=abc", None, {}),
])
def test_json_log_fields(message, event, fields):
    from llm_proxy.logs import JsonFormatter
    record = logging.LogRecord("llm_proxy", logging.INFO, __file__, 1, message, None, None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == message
    assert entry.get("event") == event
    for name, value in fields.items():
        assert entry[name] == value


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_ops_routes_hold_no_secret(make_proxy, openai_upstream, path):
    proxy = make_proxy([key_entry(openai_upstream, key=BAD_KEY), key_entry(openai_upstream, 0)],
                       PROXY_TOKENS="client-token-123456")
    proxy.chat(HI, token="client-token-123456")
    text = requests.get(proxy.url + path, timeout=10).text
    for secret in (BAD_KEY, good_key(0), proxy.admin_token, "client-token-123456"):
        assert secret not in text
