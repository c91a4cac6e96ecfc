"""ADMIN_TOKEN on every /api path, the generated token under real gunicorn, and CORS."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest
import requests

from conftest import ADMIN_TOKEN, HELLO, ProxyServer, good_key, key_entries
from gunicorn_process import REPO, Gunicorn
from secret_audit import AUDIT

from llm_proxy.auth import token_matches
from llm_proxy.config import Config


@pytest.fixture
def proxy(make_proxy, openai_upstream):
    return make_proxy(key_entries(openai_upstream, 2),
                      PROXY_TOKENS="client-token-0123456789")


def routes(proxy) -> list:
    key_id = proxy.pool.keys()[0].id
    entry = {"provider": "openai", "model": "x", "api_key": good_key(5)}
    return [
        ("GET", "/api/keys", None),
        ("POST", "/api/keys", entry),
        ("POST", "/api/keys", [entry]),
        ("DELETE", "/api/keys", {"provider": "openai", "model": "gpt-4o"}),
        ("GET", f"/api/keys/{key_id}", None),
        ("PATCH", f"/api/keys/{key_id}", {"enabled": False}),
        ("DELETE", f"/api/keys/{key_id}", None),
        ("POST", f"/api/keys/{key_id}/test", None),
        ("POST", f"/api/keys/{key_id}/reset", None),
        ("GET", "/api/providers", None),
        # Unknown paths and methods, and unknown ids: the same 401, nothing revealed.
        ("GET", "/api", None),
        ("GET", "/api/unknown", None),
        ("PUT", "/api/keys", None),
        ("PUT", f"/api/keys/{key_id}", None),
        ("GET", "/api/keys/000000000000", None),
        ("DELETE", "/api/keys/000000000000", None),
        ("OPTIONS", "/api/keys", None),
    ]


BAD_CREDENTIALS = {
    "no header": None,
    "empty bearer": "Bearer ",
    "wrong token": "Bearer wrong-token-0123456789",
    "prefix of the token": f"Bearer {ADMIN_TOKEN[:-1]}",
    "token plus a character": f"Bearer {ADMIN_TOKEN}x",
    "other case": f"Bearer {ADMIN_TOKEN.upper()}",
    "basic scheme": f"Basic {ADMIN_TOKEN}",
    "no scheme": ADMIN_TOKEN,
    "client token": "Bearer client-token-0123456789",
}


@pytest.mark.parametrize("credential", list(BAD_CREDENTIALS), ids=list(BAD_CREDENTIALS))
def test_every_api_path_needs_the_admin_token(proxy, openai_upstream, credential):
    header = BAD_CREDENTIALS[credential]
    before = [(k.id, k.api_key, k.enabled, k.model) for k in proxy.pool.keys()]
    bodies = set()
    for method, path, body in routes(proxy):
        headers = {"Authorization": header} if header is not None else {}
        resp = proxy.admin(method, path, body, token=None, headers=headers)
        assert resp.status_code == 401, (method, path, resp.text)
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        err = resp.json()["error"]
        assert err["type"] == "authentication_error" and err["code"] == "invalid_api_key"
        bodies.add(resp.content)
    assert len(bodies) == 1  # known, unknown and missing all look alike
    assert [(k.id, k.api_key, k.enabled, k.model) for k in proxy.pool.keys()] == before
    assert openai_upstream.calls == []


def test_the_right_token_opens_every_route(proxy):
    for method, path, body in routes(proxy):
        resp = proxy.admin(method, path, body)
        assert resp.status_code != 401, (method, path, resp.text)


def test_token_is_only_read_from_the_authorization_header(proxy):
    url = proxy.url + "/api/keys"
    assert proxy.http.get(url, params={"token": ADMIN_TOKEN}).status_code == 401
    assert proxy.http.get(url, headers={"X-Admin-Token": ADMIN_TOKEN}).status_code == 401
    assert proxy.http.get(url, cookies={"token": ADMIN_TOKEN}).status_code == 401
    assert proxy.http.get(url, headers={"Authorization": f"bearer  {ADMIN_TOKEN} "}
                          ).status_code == 200


def test_admin_token_does_not_open_the_client_routes(proxy):
    assert proxy.chat(HELLO, token=ADMIN_TOKEN).status_code == 401
    assert proxy.chat(HELLO, token="client-token-0123456789").status_code == 200


def test_routes_outside_api_need_no_admin_token(proxy):
    assert proxy.http.get(proxy.url + "/healthz").status_code == 200
    assert proxy.http.get(proxy.url + "/apikeys").status_code == 404
    assert proxy.http.get(proxy.url + "/", allow_redirects=False).status_code == 302


@pytest.mark.parametrize("given,allowed,expected", [
    ("abc", ["abc"], True),
    ("abc", ["x", "abc", "y"], True),
    ("ab", ["abc"], False),
    ("abcd", ["abc"], False),
    ("", ["abc"], False),
    (None, ["abc"], False),
    ("", [""], False),
    ("abc", [], False),
    ("ünïcode-tøken", ["ünïcode-tøken"], True),
])
def test_token_matches(given, allowed, expected):
    assert token_matches(given, allowed) is expected


# -- generated token --------------------------------------------------------------------------

def test_generated_token_is_strong_and_fresh_each_start():
    first, second = Config.from_env({}, dotenv_path=None), Config.from_env({}, dotenv_path=None)
    assert first.admin_token_generated and second.admin_token_generated
    assert first.admin_token != second.admin_token
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", first.admin_token)  # 256 random bits
    configured = Config.from_env({"ADMIN_TOKEN": " set-by-operator-123 "}, dotenv_path=None)
    assert configured.admin_token == "set-by-operator-123"
    assert not configured.admin_token_generated


def test_generated_token_is_accepted_over_http():
    server = ProxyServer({"LLM_KEYS": "[]"})
    try:
        assert server.config.admin_token_generated
        assert server.admin("GET", "/api/keys").status_code == 200
        assert server.admin("GET", "/api/keys", token="guess-0123456789").status_code == 401
    finally:
        server.close()


def gunicorn_as_users_start(tmp_path, env: dict, *args: str, first_bind=None) -> Gunicorn:
    """gunicorn with gunicorn.conf.py and an access log, run from a scratch directory."""
    return Gunicorn(tmp_path / "gunicorn.log", args=args, env=env, cwd=tmp_path,
                    first_bind=first_bind, access_log=True)


def test_gunicorn_logs_one_generated_token_that_every_connection_accepts(tmp_path,
                                                                          openai_upstream):
    # One worker: several are refused without REDIS_URL, and REDIS_URL needs ADMIN_TOKEN,
    # so a generated token only ever serves one process.
    secret = good_key(0)
    keys = ('[{"provider": "openai", "model": "gpt-4o", "api_key": "%s", "base_url": "%s"}]'
            % (secret, openai_upstream.base_url))
    server = gunicorn_as_users_start(tmp_path, {"LLM_KEYS": keys}, "--workers", "1")
    try:
        link = re.compile(rf"http://127\.0\.0\.1:{server.port}/static/index\.html"
                          r"#token=([A-Za-z0-9_-]+)")
        match = link.search(server.output())
        assert match, server.output()
        token = match.group(1)
        assert len(token) >= 43
        # Every new connection accepts the same token.
        for _ in range(20):
            resp = requests.get(server.url + "/api/keys", timeout=10,
                                headers={"Authorization": f"Bearer {token}",
                                         "Connection": "close"})
            assert resp.status_code == 200
            assert [k["api_key"] for k in resp.json()["keys"]] == ["sk-g…cdef"]
        assert requests.get(server.url + "/api/keys", timeout=10).status_code == 401
        resp = requests.post(server.url + "/api/keys", timeout=10,
                             headers={"Authorization": f"Bearer {token}"},
                             json={"provider": "openai", "model": "gpt-4o",
                                   "api_key": good_key(1), "base_url": openai_upstream.base_url})
        assert resp.status_code == 201
        resp = requests.post(server.url + "/v1/chat/completions?api_key=query-secret-value",
                             json=HELLO, timeout=10)
        assert resp.status_code == 200
    finally:
        output = server.stop()
    lines = output.splitlines()
    assert sum(1 for line in lines if "#token=" in line) == 1
    assert output.count(token) == 1
    assert sum(1 for line in lines if "ADMIN_TOKEN not set" in line) == 1
    # The access log shows paths, never query strings or secrets.
    access = [line for line in lines if '"POST /v1/chat/completions HTTP/1.1" 200' in line]
    assert access, output
    assert "query-secret-value" not in output and "?" not in " ".join(access)
    for configured in (secret, good_key(1)):
        assert configured not in output
    AUDIT.add_secret(token)
    AUDIT.record("gunicorn output (token line left out)",
                 "\n".join(line for line in lines if "#token=" not in line).encode())


def test_gunicorn_with_admin_token_set_logs_no_token(tmp_path):
    token = "operator-chosen-token-0123456789"
    server = gunicorn_as_users_start(tmp_path, {"ADMIN_TOKEN": token})
    try:
        resp = requests.get(server.url + "/api/keys", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200
    finally:
        output = server.stop()
    assert "#token=" not in output and token not in output
    # The page is still pointed to, without the token.
    assert f"Web UI: http://127.0.0.1:{server.port}/static/index.html (sign in with " \
        "ADMIN_TOKEN)" in output
    AUDIT.add_secret(token)
    AUDIT.record("gunicorn output", output.encode())


def test_generated_token_link_brackets_an_ipv6_host(tmp_path):
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
            port6 = sock.getsockname()[1]
    except OSError:
        pytest.skip("no IPv6 loopback here")
    server = gunicorn_as_users_start(tmp_path, {}, first_bind=f"[::1]:{port6}")
    output = server.stop()
    assert re.search(rf"http://\[::1\]:{port6}/static/index\.html#token=[A-Za-z0-9_-]{{43,}}",
                     output), output
    AUDIT.record("gunicorn output (token line left out)",
                 "\n".join(line for line in output.splitlines()
                           if "#token=" not in line).encode())


def test_other_servers_log_the_generated_token_once(tmp_path):
    """wsgi.py outside gunicorn (waitress, uwsgi...): the app logs the link itself."""
    env = {k: v for k, v in os.environ.items() if k != "ADMIN_TOKEN"}
    env.update({"PYTHONPATH": REPO, "PORT": "8123", "KEY_RECHECK_SECONDS": "0"})
    done = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    tokens = re.findall(r"http://localhost:8123/static/index\.html#token=([A-Za-z0-9_-]{43,})",
                        output)
    assert len(tokens) == 1 and output.count(tokens[0]) == 1


# -- CORS -------------------------------------------------------------------------------------

def preflight(proxy, origin):
    return proxy.http.options(proxy.url + "/api/keys", headers={
        "Origin": origin, "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization, content-type"})


def test_cors_allows_the_configured_origins_only(make_proxy):
    proxy = make_proxy([], CORS_ORIGINS="https://admin.example, https://ops.example")
    resp = preflight(proxy, "https://ops.example")
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["Access-Control-Allow-Origin"] == "https://ops.example"
    assert "DELETE" in resp.headers["Access-Control-Allow-Methods"]
    assert "authorization" in resp.headers["Access-Control-Allow-Headers"].lower()
    resp = preflight(proxy, "https://evil.example")
    assert "Access-Control-Allow-Origin" not in resp.headers
    # Actual requests: allowed origins can read answers, 401s included.
    resp = proxy.admin("GET", "/api/keys", headers={"Origin": "https://admin.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://admin.example"
    resp = proxy.admin("GET", "/api/keys", token=None,
                       headers={"Origin": "https://admin.example"})
    assert resp.status_code == 401
    assert resp.headers["Access-Control-Allow-Origin"] == "https://admin.example"
    resp = proxy.admin("GET", "/api/keys", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_cors_default_allows_any_origin_without_credentials(make_proxy):
    proxy = make_proxy([])
    resp = preflight(proxy, "https://anywhere.example")
    # flask-cors reflects the origin (with Vary: Origin) rather than sending "*".
    assert resp.headers["Access-Control-Allow-Origin"] in ("*", "https://anywhere.example")
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = proxy.chat(HELLO, headers={"Origin": "https://other.example"})
    assert resp.headers["Access-Control-Allow-Origin"] in ("*", "https://other.example")


def test_a_loop_header_does_not_get_past_the_proxy_token(make_proxy):
    proxy = make_proxy([], PROXY_TOKENS="client-token-123456")
    resp = requests.post(proxy.url + "/v1/chat/completions", timeout=10,
                         json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                         headers={"X-LLM-Proxy-Loop": ",".join(str(i) for i in range(9))})
    assert resp.status_code == 401
    assert "X-LLM-Proxy-Loop" not in resp.headers

