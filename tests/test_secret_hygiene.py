"""No secret leaves the proxy except towards its own provider: responses, logs, errors."""
from __future__ import annotations

import json
import logging

import pytest

from conftest import ADMIN_TOKEN, HELLO, good_key, key_entries, key_entry, wait_for
from fake_openai import FakeOpenAI, error
from secret_audit import AUDIT, SecretAudit

from llm_proxy.redaction import mask_secret

# No usual key prefix, so only the proxy's knowledge of its keys can catch an echo of it.
ODD_KEY = "Zq9x.custom-provider-credential.0123456789"


class EchoingUpstream(FakeOpenAI):
    """An OpenAI-compatible server that quotes the whole key back in its errors."""

    def _auth(self, call):
        if call.key not in self.valid_keys:
            return error(401, f"Key {call.key} is not valid here (token={call.key}).",
                         "authentication_error", code="invalid_api_key")
        return None


@pytest.fixture
def echoing():
    fake = EchoingUpstream(valid_keys=set())
    yield fake
    fake.close()


def leaked(text: str, secret: str = ODD_KEY) -> bool:
    return secret in text or json.dumps(secret)[1:-1] in text


def test_upstream_echo_of_a_whole_key_is_masked_everywhere(make_proxy, echoing, proxy_logs):
    proxy = make_proxy([{"provider": "openai-compatible", "model": "gpt-4o",
                         "api_key": ODD_KEY, "base_url": echoing.base_url}])
    resp = proxy.chat(HELLO)
    assert resp.status_code == 401
    # The upstream did send the key back; the client sees it masked.
    assert echoing.calls and echoing.calls[0].key == ODD_KEY
    assert not leaked(resp.text) and "is not valid here" in resp.text
    assert mask_secret(ODD_KEY) in resp.json()["error"]["message"]
    key_id = proxy.pool.keys()[0].id
    assert proxy.admin("POST", f"/api/keys/{key_id}/reset").status_code == 200
    stream = proxy.chat({**HELLO, "stream": True})
    assert stream.status_code == 401 and not leaked(stream.text)
    listing = proxy.admin("GET", "/api/keys")
    assert "is not valid here" in listing.text and not leaked(listing.text)
    check = proxy.admin("POST", f"/api/keys/{key_id}/test")
    assert check.json()["ok"] is False and not leaked(check.text)
    assert "is not valid here" in check.json()["error"]["message"]
    assert proxy_logs and not any(leaked(line) for line in proxy_logs)


def test_openai_style_partial_echo_never_shows_the_key(make_proxy, openai_upstream):
    bad = "sk-proj-rejected-0123456789abcdefghij"
    proxy = make_proxy([key_entry(openai_upstream, key=bad)])
    resp = proxy.chat(HELLO)
    assert resp.status_code == 401 and "Incorrect API key provided" in resp.text
    assert bad not in resp.text and bad[:12] not in resp.text
    listing = proxy.admin("GET", "/api/keys").text
    assert bad not in listing and bad[:12] not in listing


@pytest.mark.parametrize("length", range(1, 61))
def test_mask_never_shows_more_than_a_third_or_eight_characters(length):
    secret = "".join(chr(ord("a") + i % 26) for i in range(length))
    masked = mask_secret(secret)
    shown = len(masked) - 1
    assert masked.count("…") == 1
    assert shown <= min(8, length // 3)
    if length >= 24:
        assert masked == f"{secret[:4]}…{secret[-4:]}"


SECRET = "sk-live-hygiene-0123456789abcdef"


def test_admin_request_bodies_are_never_logged(make_proxy, openai_upstream, proxy_logs):
    proxy = make_proxy([], LOG_LEVEL="DEBUG")
    bodies = [
        ("POST", "/api/keys", {"provider": "openai", "model": "m", "api_key": SECRET}),
        ("POST", "/api/keys", [{"provider": "openai", "model": "m2", "api_key": SECRET}]),
        ("POST", "/api/keys", {"provider": "openai", "model": "m", "api_key": SECRET + " "}),
        ("POST", "/api/keys", {"provider": "nope", "model": "m", "api_key": SECRET}),
        ("DELETE", "/api/keys", {"provider": "openai", "model": "m", "api_key": SECRET}),
    ]
    for method, path, body in bodies:
        assert proxy.admin(method, path, body).status_code < 500
    key_id = proxy.pool.keys()[0].id
    assert proxy.admin("PATCH", f"/api/keys/{key_id}",
                       {"api_key": SECRET[::-1]}).status_code == 200
    assert any("keys added" in line for line in proxy_logs)
    for secret in (SECRET, SECRET[::-1]):
        assert not any(secret in line for line in proxy_logs)


@pytest.mark.parametrize("send", [
    lambda p: p.admin("GET", f"/api/keys/{SECRET}"),
    lambda p: p.admin("PATCH", f"/api/keys/{SECRET}", {"enabled": False}),
    lambda p: p.admin("POST", "/api/keys", {SECRET: "x", "provider": "openai"}),
    lambda p: p.admin("POST", "/api/keys", data=f'{{"api_key": "{SECRET}", ',
                      headers={"Content-Type": "application/json"}),
    lambda p: p.admin("POST", "/api/keys", {"provider": "openai", "model": "m",
                                            "api_key": SECRET, "base_url": SECRET}),
    lambda p: p.admin("POST", "/api/keys", {"provider": "openai", "model": "m",
                                            "api_key": SECRET + "\n"}),
    lambda p: p.admin("GET", "/api/keys", token=SECRET),
    lambda p: p.chat(HELLO, token=SECRET),
], ids=["id in path", "patch id in path", "field name", "broken JSON", "base_url",
        "api_key with newline", "as admin token", "as client token"])
def test_errors_never_quote_a_submitted_secret(make_proxy, openai_upstream, proxy_logs, send):
    proxy = make_proxy([key_entry(openai_upstream)], PROXY_TOKENS="client-token-0123456789")
    resp = send(proxy)
    assert 400 <= resp.status_code < 500
    assert SECRET not in resp.text and SECRET[8:] not in resp.text
    assert not any(header_value for header_value in resp.headers.values()
                   if SECRET in header_value)
    assert not any(SECRET in line for line in proxy_logs)


def test_no_response_header_or_body_of_the_admin_api_holds_a_key(make_proxy, openai_upstream):
    proxy = make_proxy(key_entries(openai_upstream, 3))
    key_id = proxy.pool.keys()[0].id
    answers = [
        proxy.admin("GET", "/api/keys"),
        proxy.admin("GET", f"/api/keys/{key_id}"),
        proxy.admin("POST", "/api/keys", {"provider": "openai", "model": "x",
                                          "api_key": good_key(4)}),
        proxy.admin("PATCH", f"/api/keys/{key_id}", {"api_key": good_key(5)}),
        proxy.admin("POST", f"/api/keys/{key_id}/test"),
        proxy.admin("POST", f"/api/keys/{key_id}/reset"),
        proxy.http.get(proxy.url + "/healthz"),
        proxy.http.get(proxy.url + "/metrics"),
        proxy.http.get(proxy.base + "/models"),
    ]
    for resp in answers:
        assert resp.status_code < 400, resp.text
        text = resp.text + json.dumps(dict(resp.headers))
        for secret in [good_key(i) for i in range(6)] + [ADMIN_TOKEN]:
            assert secret not in text, resp.url


# -- the whole-run audit ------------------------------------------------------------------------

def test_audit_finds_a_secret_in_bodies_headers_and_logs():
    audit = SecretAudit()
    audit.add_secret("sk-audit-0123456789")
    audit.add_secret('quote"d-secret-0123')
    audit.add_secret("short")  # too short to tell apart from ordinary text
    audit.record("clean body", b'{"api_key": "sk-a\xe2\x80\xa66789"} short')
    assert audit.leaks() == []
    audit.record("body", b'{"error": "bad key sk-audit-0123456789"}')
    audit.record("json body", json.dumps({"k": 'quote"d-secret-0123'}).encode())
    audit.install_log_handler()
    try:
        logging.getLogger("llm_proxy.audit_check").warning("token=%s", "sk-audit-0123456789")
    finally:
        audit.remove_log_handler()
    found = audit.leaks()
    assert len(found) == 3
    assert found[0].startswith("body:") and found[1].startswith("json body:")
    assert found[2].startswith("log line of llm_proxy.audit_check")
    assert not any("sk-audit-0123456789" in line for line in found)


def test_audit_records_a_proxy_and_gathers_keys_added_later(make_proxy, openai_upstream):
    audit = SecretAudit()
    proxy = make_proxy([])
    audit.watch(proxy.app)
    try:
        resp = proxy.admin("POST", "/api/keys", {"provider": "openai", "model": "m",
                                                 "api_key": "sk-added-later-0123456789"})
        assert resp.status_code == 201
        # The server closes the body (where the audit looks) just after sending it.
        wait_for(lambda: audit.responses >= 1, 5.0, interval=0.01)
        assert "sk-added-later-0123456789" in audit.secrets
        assert ADMIN_TOKEN in audit.secrets
        assert audit.responses == 1 and audit.leaks() == []
        # A response that did carry it is caught.
        audit.record("planted", b"sk-added-later-0123456789")
        assert len(audit.leaks()) == 1
    finally:
        audit.remove_log_handler()


@pytest.mark.audit_last
def test_whole_run_leaks_no_configured_secret():
    """Every response and log line of this run so far, against every configured secret."""
    assert AUDIT.responses > 0 and AUDIT.secrets
    assert AUDIT.leaks() == []
