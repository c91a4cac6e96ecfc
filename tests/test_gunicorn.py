"""The real `gunicorn wsgi:app`, started from the repository root as a user would."""
import json
import subprocess
import time

import pytest
import requests
from conftest import free_port, good_key, key_entries
from gunicorn_process import Gunicorn, clean_environment, conf_args, gunicorn_command, scratch_dir
from streaming_fakes import (HeadlessOpenAI, RawStream, SilentOpenAI, TimedOpenAI,
                             assert_upstream_let_go)

HELLO = [{"role": "user", "content": "hi"}]
SECRET = "sk-proj-SECRET-do-not-print-0123456789"
# A configured ADMIN_TOKEN, so no generated one is logged; PROXY_TOKENS as a test sets it.
SETTINGS = {"GUNICORN_THREADS": "16", "PROXY_TOKENS": "",
            "ADMIN_TOKEN": "admin-gunicorn-test-0123456789"}


@pytest.fixture
def timed():
    fake = TimedOpenAI(valid_keys={good_key(i) for i in range(3)})
    fake.stream_interval = 0.2
    yield fake
    fake.close()


@pytest.fixture
def gunicorn_server(tmp_path):
    servers = []

    def start(entries, bind_flag=True, **env):
        server = Gunicorn(tmp_path / f"gunicorn-{len(servers)}.log", entries,
                          bind_flag=bind_flag, env={**SETTINGS, **env})
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_streamed_request_through_gunicorn(gunicorn_server, timed):
    server = gunicorn_server(key_entries(timed, 3), PROXY_TOKENS="client-tok-0123456789")
    client = server.openai(api_key="client-tok-0123456789")
    arrivals = {}
    for chunk in client.chat.completions.create(model="gpt-4o", messages=HELLO,
                                                stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals[chunk.choices[0].delta.content] = time.monotonic()
    assert "".join(arrivals) == "Hello from the fake."
    sent = {json.loads(p)["choices"][0]["delta"].get("content"): at
            for at, p in timed.sent if p != b"[DONE]" and json.loads(p)["choices"]}
    delays = [arrivals[word] - sent[word] for word in arrivals]
    assert max(delays) < 0.15, delays
    # Rotation and authentication work the same under gunicorn.
    for _ in range(5):
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert timed.keys_used() == [good_key(i % 3) for i in range(6)]
    assert all("client-tok" not in json.dumps(c.headers) for c in timed.calls)
    resp = requests.post(server.base + "/chat/completions", timeout=10,
                         json={"model": "gpt-4o", "messages": HELLO})
    assert resp.status_code == 401 and resp.json()["error"]["type"] == "authentication_error"
    output = server.stop()
    assert good_key(0) not in output and "client-tok-0123456789" not in output


def test_upstream_connections_are_reused_under_gunicorn(gunicorn_server):
    from test_streaming import TimedOpenAI as Base

    class PeerRecording(Base):
        def __init__(self, *args, **kwargs):
            self.peers = []
            super().__init__(*args, **kwargs)

        def _dispatch(self, h):
            with self.lock:
                self.peers.append(h.client_address[1])
            super()._dispatch(h)

    fake = PeerRecording(valid_keys={good_key(0), good_key(1)})
    try:
        server = gunicorn_server(key_entries(fake, 2))
        client = server.openai()
        for i in range(20):
            if i % 2:
                list(client.chat.completions.create(model="gpt-4o", messages=HELLO,
                                                    stream=True))
            else:
                client.chat.completions.create(model="gpt-4o", messages=HELLO)
        assert len(fake.peers) == 20
        # Keep-alive per worker thread: far fewer connections than requests.
        assert len(set(fake.peers)) <= 4, fake.peers
    finally:
        fake.close()


def test_client_leaving_a_silent_stream_under_gunicorn(gunicorn_server):
    fake = SilentOpenAI(valid_keys={good_key(0)})
    try:
        server = gunicorn_server(key_entries(fake, 1))
        stream = RawStream(server)
        next(stream.events())
        stream.close()
        left = time.monotonic()
        assert_upstream_let_go(fake, left)
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        fake.close()


def test_client_giving_up_on_a_plain_request_under_gunicorn(gunicorn_server):
    fake = HeadlessOpenAI(valid_keys={good_key(0)})
    try:
        server = gunicorn_server(key_entries(fake, 1))
        with pytest.raises(requests.Timeout):
            requests.post(server.url + "/v1/chat/completions", timeout=(5, 0.5), json={
                "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        left = time.monotonic()
        assert_upstream_let_go(fake, left)
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        fake.close()


def test_port_variable_sets_the_port(gunicorn_server, timed):
    server = gunicorn_server(key_entries(timed, 1), bind_flag=False)
    reply = server.openai().chat.completions.create(model="gpt-4o", messages=HELLO)
    assert reply.choices[0].message.content == "Hello from the fake."


def test_bad_input_under_gunicorn(gunicorn_server, timed):
    server = gunicorn_server(key_entries(timed, 1), MAX_BODY_BYTES="4096")
    url = server.base + "/chat/completions"
    json_header = {"Content-Type": "application/json"}
    resp = requests.post(url, data=b"[" * 4000, headers=json_header, timeout=10)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"
    big = json.dumps({"model": "gpt-4o",
                      "messages": [{"role": "user", "content": "x" * 6000}]}).encode()
    resp = requests.post(url, data=big, headers=json_header, timeout=10)
    assert resp.status_code == 413
    resp = requests.post(url, data=iter([big[:2000], big[2000:]]), headers=json_header,
                         timeout=10)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"
    small = json.dumps({"model": "gpt-4o", "messages": HELLO}).encode()
    resp = requests.post(url, data=iter([small[:10], small[10:]]), headers=json_header,
                         timeout=10)
    assert resp.status_code == 200, resp.text
    resp = requests.post(url, data=small, headers={"Content-Type": "text/plain"}, timeout=10)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_content_type"
    assert len(timed.calls) == 1
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("llm_keys, expected", [
    ("[{not json", "LLM_KEYS is not valid JSON"),
    (json.dumps({"provider": "openai", "api_key": SECRET}), "must be a JSON array"),
    (json.dumps([{"provider": "openai", "model": "m", "api_key": "sk-ok-0123456789"},
                 {"provider": "openai", "api_key": SECRET}]),
     "LLM_KEYS entry 1: field 'model' is missing"),
    (json.dumps([{"provider": "openia", "model": "m", "api_key": SECRET}]),
     "LLM_KEYS entry 0: field 'provider'"),
    (json.dumps([{"provider": "openai-compatible", "model": "m", "api_key": SECRET}]),
     "LLM_KEYS entry 0: field 'base_url' is required"),
])
def test_bad_llm_keys_stop_gunicorn_at_once(llm_keys, expected):
    assert_one_line_exit({"LLM_KEYS": llm_keys}, expected)


@pytest.mark.parametrize("name, value", [
    ("GRACEFUL_TIMEOUT", "abc"), ("PORT", "99999"), ("GUNICORN_THREADS", "0"),
    ("GUNICORN_WORKER_CONNECTIONS", "many"),
])
def test_bad_gunicorn_settings_stop_gunicorn_with_one_line(name, value):
    assert_one_line_exit({name: value, "LLM_KEYS": "[]"}, f"{name} must be a whole number")


def assert_one_line_exit(env: dict, expected: str) -> None:
    started = time.monotonic()
    proc = subprocess.run(gunicorn_command() + ["wsgi:app", "-b", f"127.0.0.1:{free_port()}",
                                                *conf_args()],
                          cwd=scratch_dir(), env=clean_environment(**{**SETTINGS, **env}),
                          capture_output=True, timeout=30)
    elapsed = time.monotonic() - started
    assert proc.returncode != 0
    assert elapsed < 15, f"took {elapsed:.1f}s"  # not a worker respawning forever
    stderr = proc.stderr.decode()
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("llm-proxy: configuration error: ")
    assert expected in lines[0]
    assert SECRET not in stderr + proc.stdout.decode() and "SECRET" not in stderr


# -- loops between separate proxy processes ------------------------------------------------

def add_key(server, base_url: str, model: str = "gpt-4o") -> str:
    resp = requests.post(server.url + "/api/keys", timeout=10, json={
        "provider": "openai-compatible", "model": model, "api_key": f"sk-hop-{server.port}",
        "base_url": base_url}, headers={"Authorization": f"Bearer {SETTINGS['ADMIN_TOKEN']}"})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"] if "id" in resp.json() else resp.json()["keys"][0]["id"]


def key_status(server, key_id: str) -> str:
    listing = requests.get(server.url + "/api/keys", timeout=10, headers={
        "Authorization": f"Bearer {SETTINGS['ADMIN_TOKEN']}"}).json()["keys"]
    return next(k["status"] for k in listing if k["id"] == key_id)


def test_two_proxies_pointing_at_each_other_stop_at_once(gunicorn_server):
    a, b = gunicorn_server([]), gunicorn_server([])
    a_key, b_key = add_key(a, b.url + "/v1"), add_key(b, a.url + "/v1")
    started = time.monotonic()
    resp = requests.post(a.url + "/v1/chat/completions", timeout=30, json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 508 and resp.json()["error"]["code"] == "loop_detected"
    assert time.monotonic() - started < 5  # not a pile of requests waiting on each other
    for server in (a, b):
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    # Neither key points at its own proxy, and another proxy's 508 is about the request's
    # path (a client's header can shape it): no key is marked or cooled.
    assert key_status(a, a_key) == "active" and key_status(b, b_key) == "active"


def test_a_proxy_in_front_of_a_looping_proxy_keeps_its_key(gunicorn_server):
    front, back = gunicorn_server([]), gunicorn_server([])
    front_key, back_key = add_key(front, back.url + "/v1"), add_key(back, back.url + "/v1")
    resp = requests.post(front.url + "/v1/chat/completions", timeout=30, json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 508
    assert key_status(back, back_key) == "invalid"  # its own key points at itself
    assert key_status(front, front_key) == "active"  # the front's key is fine


def test_a_clients_loop_header_cannot_cool_the_keys_others_use(gunicorn_server, timed):
    back = gunicorn_server(key_entries(timed, 1))
    front = gunicorn_server([])
    front_key = add_key(front, back.url + "/v1")
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):  # a chain one hop short of the limit: the back proxy sees a circle
        resp = requests.post(front.url + "/v1/chat/completions", json=body, timeout=30,
                             headers={"X-LLM-Proxy-Loop": ",".join(["x"] * 7)})
        assert resp.status_code == 508
    assert key_status(front, front_key) == "active"
    assert requests.post(front.url + "/v1/chat/completions", json=body,
                         timeout=30).status_code == 200
