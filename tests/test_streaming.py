"""Streaming: each upstream chunk reaches the client as it is sent; a client that leaves
closes the upstream connection."""
import http.client
import json
import socket
import time

import pytest
from conftest import good_key, key_entries, wait_for
from fake_upstream import Stream, sse
from streaming_fakes import (HELLO, STREAM_BODY, HeadlessOpenAI, RawStream, SilentOpenAI,
                             TimedOpenAI, assert_upstream_let_go)


@pytest.fixture
def timed():
    fake = TimedOpenAI(valid_keys={good_key(0)})
    yield fake
    fake.close()


# -- no buffering ---------------------------------------------------------------------------

def test_each_chunk_reaches_the_client_as_it_is_sent(make_proxy, timed):
    timed.stream_interval = 0.2
    proxy = make_proxy(key_entries(timed, 1))
    stream = RawStream(proxy)
    assert stream.resp.status == 200
    received = list(stream.events())
    sent = dict((payload, at) for at, payload in timed.sent)
    forwarded = [(at, payload) for at, payload in received if payload in sent]
    assert received[-1][1] == b"[DONE]"
    assert len(forwarded) == 8  # role, five words, finish, [DONE]; the usage chunk stays
    delays = [at - sent[payload] for at, payload in forwarded]
    assert max(delays) < 0.15, delays
    # Each chunk arrived long before the next one was even sent.
    order = [payload for _, payload in timed.sent]
    for arrived, payload in forwarded[:-1]:
        assert arrived < timed.sent[order.index(payload) + 1][0]


def test_sdk_stream_chunks_arrive_as_sent(make_proxy, timed):
    timed.stream_interval = 0.2
    proxy = make_proxy(key_entries(timed, 1))
    arrivals = {}
    for chunk in proxy.openai().chat.completions.create(model="gpt-4o", messages=HELLO,
                                                        stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals[chunk.choices[0].delta.content] = time.monotonic()
    sent = {json.loads(p)["choices"][0]["delta"].get("content"): at
            for at, p in timed.sent if p != b"[DONE]" and json.loads(p)["choices"]}
    assert list(arrivals) == ["Hello", " from", " the", " fake", "."]
    delays = [arrivals[word] - sent[word] for word in arrivals]
    assert max(delays) < 0.15, delays


def test_stream_headers_and_framing(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 1))
    resp = proxy.chat(STREAM_BODY)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["Cache-Control"] == "no-cache"
    assert "Content-Length" not in resp.headers
    events = resp.content.split(b"\n\n")
    assert events[-2:] == [b"data: [DONE]", b""]
    for event in events[:-2]:
        assert event.startswith(b"data: ")
        assert json.loads(event[6:])["object"] == "chat.completion.chunk"


def test_odd_upstream_framing_is_reassembled(make_proxy, openai_upstream):
    """Events split mid-line and mid-character, CRLF line ends, keep-alive comments."""
    def chunk(text):
        return json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 1,
                           "model": "gpt-4o", "choices": [{"index": 0, "delta": {
                               "content": text}, "finish_reason": None}]},
                          ensure_ascii=False).encode()
    first, second = b"data: " + chunk("caf\u00e9 \u2713") + b"\r\n\r\n", sse(chunk("ok"))
    cut = first.index("\u2713".encode()) + 1
    events = [b": keep-alive\n\n", first[:10], first[10:cut], first[cut:] + second[:3],
              second[3:] + b"data: [DONE]\n\n"]
    openai_upstream.fail(good_key(0), Stream(events, interval=0.02))
    proxy = make_proxy(key_entries(openai_upstream, 1))
    chunks = list(proxy.openai().chat.completions.create(model="gpt-4o", messages=HELLO,
                                                         stream=True))
    assert [c.choices[0].delta.content for c in chunks] == ["caf\u00e9 \u2713", "ok"]


def test_a_stream_that_breaks_off_ends_with_an_error_event_not_done(make_proxy,
                                                                     openai_upstream):
    openai_upstream.stream_interval = 0.01
    proxy = make_proxy(key_entries(openai_upstream, 1))
    words = [sse({"id": "c", "object": "chat.completion.chunk", "created": 1,
                  "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": w},
                                                  "finish_reason": None}]})
             for w in ("a", "b", "c", "d")]
    openai_upstream.fail(good_key(0), Stream(words, interval=0.01, drop_after=2))
    events = [payload for _, payload in RawStream(proxy).events()]
    assert len(events) == 3 and b"[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert error["code"] == "stream_broken" and error["message"]


# -- a client that leaves -----------------------------------------------------------------------

def test_client_leaving_mid_stream_closes_the_upstream(make_proxy, openai_upstream,
                                                       proxy_logs):
    openai_upstream.words = [f" w{i}" for i in range(100)]
    openai_upstream.stream_interval = 0.1
    proxy = make_proxy(key_entries(openai_upstream, 1))
    stream = RawStream(proxy)
    events = stream.events()
    for _ in range(3):
        next(events)
    stream.close()
    left = time.monotonic()
    closed = wait_for(lambda: openai_upstream.closed_early == 1, 2.0)
    assert closed is not None, "the upstream stream kept going"
    assert closed - left < 1.5  # the upstream had 9 s of stream left
    assert wait_for(lambda: openai_upstream.open_streams == 0, 1.0)
    assert wait_for(lambda: any("outcome=client_closed" in line for line in proxy_logs), 1.0)
    assert len(openai_upstream.calls) == 1


def test_client_leaving_while_the_upstream_is_silent_closes_the_upstream(make_proxy,
                                                                         proxy_logs):
    fake = SilentOpenAI(valid_keys={good_key(0)})
    try:
        proxy = make_proxy(key_entries(fake, 1))
        stream = RawStream(proxy)
        next(stream.events())
        stream.close()
        left = time.monotonic()
        assert_upstream_let_go(fake, left)
        assert wait_for(lambda: any("outcome=client_closed" in line and "status=200" in line
                                    for line in proxy_logs), 1.0), proxy_logs
        stats = proxy.pool.keys()[0].stats
        assert (stats.requests, stats.successes, stats.failures) == (1, 1, 0)
    finally:
        fake.close()


def test_client_leaving_before_the_first_chunk_closes_the_upstream(make_proxy, proxy_logs):
    fake = SilentOpenAI(valid_keys={good_key(0), good_key(1)})
    try:
        proxy = make_proxy(key_entries(fake, 2))
        # The proxy answers once the first chunk is in; leave while only a comment came.
        fake.fail(good_key(0), Stream([b": thinking\n\n"]))
        stream = RawStream(proxy, wait_for_answer=False)
        assert wait_for(lambda: len(fake.calls) == 1, 2.0)
        time.sleep(0.1)
        stream.close()
        left = time.monotonic()
        assert_upstream_let_go(fake, left)
        # Nobody to answer: no failover to the next key, and no failure for this one.
        assert wait_for(lambda: any("status=499" in line and "outcome=client_closed" in line
                                    for line in proxy_logs), 1.0), proxy_logs
        time.sleep(0.2)
        assert len(fake.calls) == 1
        stats = proxy.pool.get(proxy.pool.keys()[0].id).stats
        assert (stats.requests, stats.failures) == (1, 0)
    finally:
        fake.close()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_client_leaving_before_the_answers_head_closes_the_upstream(make_proxy, proxy_logs,
                                                                    stream):
    fake = HeadlessOpenAI(valid_keys={good_key(0), good_key(1)})
    try:
        proxy = make_proxy(key_entries(fake, 2))
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
        conn.request("POST", "/v1/chat/completions",
                     body=json.dumps({**STREAM_BODY, "stream": stream}),
                     headers={"Content-Type": "application/json"})
        assert wait_for(lambda: len(fake.calls) == 1, 2.0)
        time.sleep(0.1)
        # Like a client whose own timeout ran out.
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        left = time.monotonic()
        assert_upstream_let_go(fake, left)
        assert wait_for(lambda: any("status=499" in line and "outcome=client_closed" in line
                                    for line in proxy_logs), 2.0), proxy_logs
        # Nobody to answer: no failover to the next key, and no failure for this one.
        assert len(fake.calls) == 1
        stats = proxy.pool.keys()[0].stats
        assert (stats.requests, stats.failures) == (1, 0)
    finally:
        fake.close()


def test_client_gone_before_the_upstream_call_starts_is_never_served(make_proxy, proxy_logs):
    # Half-closed at once (or timed out while queued for a thread): gone before any
    # upstream connection exists to be cut.
    fake = HeadlessOpenAI(valid_keys={good_key(0)})
    try:
        proxy = make_proxy(key_entries(fake, 1))
        body = json.dumps({**STREAM_BODY, "stream": False}).encode()
        sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        sock.shutdown(socket.SHUT_WR)
        try:
            assert wait_for(lambda: any("status=499" in line and "client_closed" in line
                                        for line in proxy_logs), 3.0), proxy_logs
            # Either the upstream was never called, or it was let go at once.
            assert not fake.calls or wait_for(lambda: fake.hung_up_at is not None, 2.0)
        finally:
            sock.close()
    finally:
        fake.close()

