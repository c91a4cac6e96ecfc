"""Errors of the Gemini routes: Google's envelope, with the status the SDK reads.

Every error is {"error": {"code", "message", "status"}} with the HTTP status and its gRPC
code name; no input makes the proxy answer 500, and it keeps serving. The proxy token
sent as `?key=` is never logged.
"""
from __future__ import annotations

import json

import pytest
import requests
from fake_openai import FakeOpenAI
from fake_openai import error as openai_error
from gemini_api_common import MODEL, TOKEN, entry, genai_client
from gemini_common import gem_key
from google.genai import errors
from gunicorn_process import Gunicorn
from helpers import good_key

from llm_proxy.logs import redact_query

GENERATE = f"/v1beta/models/{MODEL}:generateContent"
HI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.fixture
def openai_fake():
    fake = FakeOpenAI(valid_keys={good_key(0), good_key(1)})
    yield fake
    fake.close()


@pytest.fixture
def proxy(make_proxy, gemini_upstream, openai_fake):
    return make_proxy([entry("gemini", gemini_upstream, 0), entry("gemini", gemini_upstream, 1),
                       entry("openai", openai_fake, 0, "gpt-4o"),
                       entry("openai", openai_fake, 1, "gpt-4o")],
                      PROXY_TOKENS=TOKEN, KEY_COOLDOWN_SECONDS=30)


def envelope(resp, status: int, name: str) -> str:
    """The message of Google's error envelope, checked to have this status."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}
    assert (body["error"]["code"], body["error"]["status"]) == (status, name)
    return body["error"]["message"]


def post(proxy, path: str = GENERATE, body=HI, token: str | None = TOKEN, **kwargs):
    headers = {"x-goog-api-key": token} if token else {}
    headers.update(kwargs.pop("headers", {}))
    if isinstance(body, (dict, list)):
        kwargs["json"] = body
    else:
        kwargs["data"] = body
    return requests.post(proxy.url + path, headers=headers, timeout=10, **kwargs)


def test_a_missing_token_is_401_and_a_wrong_one_403(proxy, gemini_upstream):
    assert "x-goog-api-key" in envelope(post(proxy, token=None), 401, "UNAUTHENTICATED")
    envelope(post(proxy, token="wrong-token"), 403, "PERMISSION_DENIED")
    envelope(post(proxy, token=None, params={"key": "wrong"}), 403, "PERMISSION_DENIED")
    envelope(post(proxy, token=None, headers={"Authorization": "Bearer wrong"}), 403,
             "PERMISSION_DENIED")
    listing = requests.get(proxy.url + "/v1beta/models", timeout=10)
    envelope(listing, 401, "UNAUTHENTICATED")
    client = genai_client(proxy, api_key="not-the-token")
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="hi")
    assert (caught.value.code, caught.value.status) == (403, "PERMISSION_DENIED")
    assert not gemini_upstream.calls


@pytest.mark.parametrize("path, body, status, name, mentions", [
    (GENERATE, b"{not json", 400, "INVALID_ARGUMENT", "JSON"),
    (GENERATE, [1, 2], 400, "INVALID_ARGUMENT", "object"),
    (GENERATE, {}, 400, "INVALID_ARGUMENT", "contents"),
    (GENERATE, {"contents": "hi"}, 400, "INVALID_ARGUMENT", "contents"),
    (GENERATE, {"contents": ["hi"]}, 400, "INVALID_ARGUMENT", "contents[0]"),
    (f"/v1beta/models/{MODEL}:countTokens", {"generateContentRequest": 3}, 400,
     "INVALID_ARGUMENT", "generateContentRequest"),
    (f"/v1beta/models/{MODEL}:embedContent", {"content": "hi"}, 400, "INVALID_ARGUMENT",
     "content"),
    (f"/v1beta/models/{MODEL}:batchEmbedContents", {"requests": []}, 400,
     "INVALID_ARGUMENT", "requests"),
    (f"/v1beta/models/{MODEL}:streamGenerateContent", HI, 400, "INVALID_ARGUMENT", "alt=sse"),
    ("/v1beta/models/unknown-model:generateContent", HI, 404, "NOT_FOUND", "unknown-model"),
    (f"/v1beta/models/{MODEL}:predict", HI, 404, "NOT_FOUND", "predict"),
    (f"/v1beta/models/{MODEL}", HI, 404, "NOT_FOUND", "method"),
    ("/v1beta/files", {}, 404, "NOT_FOUND", "/v1beta/models"),
])
def test_bad_requests_answer_in_googles_envelope(proxy, gemini_upstream, path, body, status,
                                                 name, mentions):
    message = envelope(post(proxy, path, body), status, name)
    assert mentions in message
    assert not gemini_upstream.calls
    assert post(proxy).status_code == 200  # and the proxy keeps serving


def test_a_wrong_content_type_and_a_wrong_method(proxy):
    resp = post(proxy, body=json.dumps(HI), headers={"Content-Type": "text/plain"})
    envelope(resp, 400, "INVALID_ARGUMENT")
    resp = requests.get(proxy.url + GENERATE.replace(":generateContent", "") + ":x",
                        headers={"x-goog-api-key": TOKEN}, timeout=10)
    envelope(resp, 404, "NOT_FOUND")  # read as a model named "gemini-2.5-flash:x"
    resp = requests.delete(proxy.url + GENERATE, headers={"x-goog-api-key": TOKEN}, timeout=10)
    envelope(resp, 405, "INVALID_ARGUMENT")
    assert "POST" in resp.headers["Allow"]


@pytest.mark.parametrize("field, value", [
    ("systemInstruction", "be nice"), ("systemInstruction", {"parts": [{"inlineData": {}}]}),
    ("tools", {"functionDeclarations": []}), ("tools", [{"functionDeclarations": [{}]}]),
    ("tools", [{"functionDeclarations": [{"name": "f", "parameters": "x"}]}]),
    ("tools", [{"functionDeclarations": [{"name": "f", "parameters": {"type": 3}}]}]),
    ("toolConfig", {"functionCallingConfig": {"mode": "SOMETIMES"}}),
    ("toolConfig", {"functionCallingConfig": {"mode": "AUTO",
                                              "allowedFunctionNames": ["f"]}}),
    ("generationConfig", {"temperature": "hot"}), ("generationConfig", {"maxOutputTokens": 0}),
    ("generationConfig", {"stopSequences": "END"}), ("generationConfig", []),
    ("generationConfig", {"thinkingConfig": {"thinkingLevel": "extreme"}}),
    ("generationConfig", {"responseMimeType": "text/x.enum"}),
    ("generationConfig", {"responseMimeType": "application/json", "responseJsonSchema": 1}),
    ("generationConfig", {"topK": "many"}),
    ("contents", [{"role": "model", "parts": [{"functionCall": {"name": "f"}}]},
                  {"role": "user", "parts": [{"functionResponse": {"name": "g",
                                                                   "response": {}}}]}]),
    ("contents", [{"role": "user", "parts": [{"functionResponse": {"name": "",
                                                                   "response": {}}}]}]),
    ("contents", [{"role": "user", "parts": "hi"}]),
    ("contents", [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png"}}]}]),
    ("contents", [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": []}}]}]),
    ("contents", [{"role": "user", "parts": [{"text": ""}]}]),
])
def test_no_bad_input_to_a_translated_key_gets_a_500(proxy, openai_fake, field, value):
    resp = post(proxy, "/v1beta/models/gpt-4o:generateContent", {**HI, field: value})
    message = envelope(resp, 400, "INVALID_ARGUMENT")
    assert message
    assert not openai_fake.calls
    count = post(proxy, "/v1beta/models/gpt-4o:countTokens",
                 {"generateContentRequest": {**HI, field: value}})
    assert count.status_code == 400, count.text


def test_a_body_over_the_limit_is_413(make_proxy, gemini_upstream):
    proxy = make_proxy([entry("gemini", gemini_upstream)], MAX_BODY_BYTES=4096)
    resp = post(proxy, body={"contents": [{"role": "user", "parts": [{"text": "x" * 8192}]}]})
    envelope(resp, 413, "INVALID_ARGUMENT")


def test_translated_keys_fail_over_and_all_cooling_is_429(proxy, openai_fake):
    for i in range(2):
        openai_fake.fail(good_key(i), openai_error(429, "Rate limit reached.",
                                                   headers={"retry-after": "20"}))
    path = "/v1beta/models/gpt-4o:generateContent"
    first = post(proxy, path)
    envelope(first, 429, "RESOURCE_EXHAUSTED")
    assert openai_fake.keys_used() == [good_key(0), good_key(1)]
    second = post(proxy, path)
    envelope(second, 429, "RESOURCE_EXHAUSTED")
    assert 1 <= int(second.headers["Retry-After"]) <= 20
    assert len(openai_fake.calls) == 2  # every key cools: nothing was sent


def test_a_server_error_on_every_key_is_a_server_error(proxy, openai_fake):
    for i in range(2):
        openai_fake.fail(good_key(i), openai_error(500, "The server had an error.",
                                                   type_="server_error"))
    client = genai_client(proxy)
    with pytest.raises(errors.ServerError) as caught:
        client.models.generate_content(model="gpt-4o", contents="hi")
    assert (caught.value.code, caught.value.status) == (500, "INTERNAL")


def test_a_bad_gemini_key_fails_over_and_is_marked_invalid(proxy, gemini_upstream):
    gemini_upstream.valid_keys.discard(gem_key(0))
    client = genai_client(proxy)
    assert client.models.generate_content(model=MODEL, contents="hi").text == "Hello from Gemini."
    keys = proxy.admin("GET", "/api/keys").json()["keys"]
    assert [k["status"] for k in keys if k["provider"] == "gemini"] == ["invalid", "active"]


def test_metrics_and_logs_name_the_format(proxy, proxy_logs):
    assert post(proxy).status_code == 200
    assert post(proxy, body={}).status_code == 400
    text = proxy.http.get(proxy.url + "/metrics").text
    line = [m for m in text.splitlines() if m.startswith("llm_proxy_requests_total{")
            and 'format="gemini"' in m][0]
    assert 'provider="gemini"' in line and 'status_class="2xx"' in line
    assert any(m.startswith("llm_proxy_responses_total{") and 'status_class="4xx"' in m
               and 'format="gemini"' in m for m in text.splitlines())
    assert any("format=gemini" in line for line in proxy_logs)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_token_in_the_query_is_never_logged(tmp_path, gemini_upstream, log_format):
    secret = "query-token-never-logged-0123"
    # An access log format that shows the request line, query string and all.
    server = Gunicorn(tmp_path / "gunicorn.log", [entry("gemini", gemini_upstream)],
                      env={"PROXY_TOKENS": secret, "ADMIN_TOKEN": "admin-token-0123456789",
                           "LOG_FORMAT": log_format},
                      args=["--access-logformat", '"%(r)s" %(s)s q=%(q)s'], access_log=True)
    try:
        ok = requests.post(server.url + GENERATE, params={"key": secret, "alt": "x"}, json=HI,
                           timeout=10)
        assert ok.status_code == 200, ok.text
        wrong = requests.post(server.url + GENERATE, params={"key": secret + "x"}, json=HI,
                              timeout=10)
        assert wrong.status_code == 403
        assert secret not in wrong.text
    finally:
        output = server.stop()
    # The access log is on and shows the query, the token masked.
    lines = [json.loads(line)["message"] if log_format == "json" else line
             for line in output.splitlines() if line.strip()]
    assert any(f'"POST /v1beta/models/{MODEL}:generateContent?key=…&alt=x HTTP/1.1" 200 '
               "q=key=…&alt=x" in line for line in lines), output
    assert secret not in output


def test_log_lines_mask_credentials_in_query_strings():
    assert redact_query("GET /v1beta/models?key=abc123&pageSize=5 200") == \
        "GET /v1beta/models?key=…&pageSize=5 200"
    assert redact_query('"POST /x?alt=sse&KEY=s3cr3t HTTP/1.1"') == '"POST /x?alt=sse&KEY=… HTTP/1.1"'
    assert redact_query("?access_token=t&api_key=k") == "?access_token=…&api_key=…"
    # The proxy's own fields (key ids) are not query strings.
    line = "request model=m provider=gemini key=3f9a1c2b7d4e status=200 from_key=a to_key=b"
    assert redact_query(line) == line
