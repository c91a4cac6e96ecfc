"""The upstream transport: connection reuse after streams, early close, HTTP proxies."""
from __future__ import annotations

import json
import time

import pytest

from conftest import good_key, wait_for
from llm_proxy.errors import UpstreamUnreachable
from llm_proxy import transport

HI = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def count_connections(fake) -> list:
    """Client addresses of the connections `fake` accepts from now on."""
    accepted = []
    accept = fake.server.get_request

    def counting():
        conn, address = accept()
        accepted.append(address)
        return conn, address

    fake.server.get_request = counting
    return accepted


def headers(key: str) -> dict:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def read_stream_to_done(resp) -> bytes:
    data = b""
    while b"data: [DONE]" not in data:
        chunk = resp.raw.read1(65536)
        assert chunk, "stream ended before [DONE]"
        data += chunk
    return data


def test_a_finished_stream_leaves_its_connection_for_the_next_request(openai_upstream):
    accepted = count_connections(openai_upstream)
    url = openai_upstream.base_url + "/chat/completions"
    body = json.dumps({**HI, "stream": True}).encode()
    for _ in range(3):
        resp = transport.send("POST", url, body, headers(good_key(0)), timeout=(5, 30))
        assert resp.status_code == 200
        assert b"Hello" in read_stream_to_done(resp)
        transport.release(resp)
    plain = transport.send("POST", url, json.dumps(HI).encode(), headers(good_key(0)),
                           timeout=(5, 30))
    assert json.loads(transport.read_body(plain))["object"] == "chat.completion"
    assert len(accepted) == 1


def test_closing_a_stream_midway_drops_its_connection_at_once(openai_upstream):
    openai_upstream.stream_interval = 0.5
    accepted = count_connections(openai_upstream)
    url = openai_upstream.base_url + "/chat/completions"
    resp = transport.send("POST", url, json.dumps({**HI, "stream": True}).encode(),
                          headers(good_key(0)), timeout=(5, 30))
    assert b"data: " in resp.raw.read1(65536)
    started = time.monotonic()
    resp.close()
    assert time.monotonic() - started < 1.5  # reading the stream out would take 2.5 s
    wait_for(lambda: openai_upstream.closed_early != 0, 5.0, interval=0.05)
    assert openai_upstream.closed_early == 1
    # The next request opens a fresh connection and is answered normally.
    again = transport.send("POST", url, json.dumps(HI).encode(), headers(good_key(0)),
                           timeout=(5, 30))
    assert again.status_code == 200 and len(accepted) == 2
    again.close()


def test_a_refused_connection_is_an_unreachable_upstream_without_the_url():
    with pytest.raises(UpstreamUnreachable) as caught:
        transport.send("POST", "http://127.0.0.1:9/v1/chat/completions?key=sk-secret-123456",
                       b"{}", {}, timeout=(2, 2))
    assert "connection refused" in caught.value.message
    assert "sk-secret" not in caught.value.message and "127.0.0.1" not in caught.value.message


def test_an_upstream_behind_http_proxy_is_reached_through_the_proxy(make_proxy, openai_upstream,
                                                                     monkeypatch):
    # The fake answers absolute-form requests too, so it can play the forward proxy: the
    # upstream's own host does not even resolve.
    monkeypatch.setenv("HTTP_PROXY", openai_upstream.url)
    proxy = make_proxy([{"provider": "openai", "model": "gpt-4o", "api_key": good_key(0),
                         "base_url": "http://upstream.invalid/v1"}])
    resp = proxy.chat(HI)
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == "Hello from the fake."
    [call] = openai_upstream.calls
    assert call.headers["host"] == "upstream.invalid" and call.key == good_key(0)
