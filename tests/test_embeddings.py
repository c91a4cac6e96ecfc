"""POST /v1/embeddings with the official openai SDK: OpenAI keys as sent, Gemini keys through
batchEmbedContents, Anthropic keys a 400; failover and bad input in OpenAI's envelope."""
from __future__ import annotations

import base64
import json
import struct

import openai
import pytest
from anthropic_common import ant_key
from fake_anthropic import FakeAnthropic
from fake_gemini import FakeGemini
from fake_openai import FakeOpenAI, error, vector
from gemini_common import gem_key
from responses_common import OPENAI_KEY, OPENAI_KEY_2, TOKEN

SMALL = "text-embedding-3-small"
GEMINI = "gemini-embedding-001"


@pytest.fixture
def openai_fake():
    fake = FakeOpenAI(valid_keys={OPENAI_KEY, OPENAI_KEY_2})
    yield fake
    fake.close()


@pytest.fixture
def gemini_fake():
    fake = FakeGemini(valid_keys={gem_key(0)})
    yield fake
    fake.close()


@pytest.fixture
def proxy(make_proxy, openai_fake, gemini_fake):
    return make_proxy([
        {"provider": "openai", "model": SMALL, "api_key": OPENAI_KEY,
         "base_url": openai_fake.base_url},
        {"provider": "openai", "model": SMALL, "api_key": OPENAI_KEY_2,
         "base_url": openai_fake.base_url},
        {"provider": "gemini", "model": GEMINI, "api_key": gem_key(0),
         "base_url": gemini_fake.url}], PROXY_TOKENS=TOKEN)


def embed(proxy, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return proxy.http.post(proxy.base + "/embeddings", data=raw,
                           headers={"Authorization": f"Bearer {TOKEN}",
                                    "Content-Type": "application/json"})


def test_openai_float_embeddings_pass_through(proxy, openai_fake):
    result = proxy.openai(TOKEN).embeddings.create(model=SMALL, input=["a", "bb"],
                                                   encoding_format="float")
    assert [d.embedding for d in result.data] == [vector("a", 1536), vector("bb", 1536)]
    assert result.usage.prompt_tokens == 2
    call = openai_fake.calls[-1]
    assert call.path == "/v1/embeddings" and call.key == OPENAI_KEY
    assert call.body == {"model": SMALL, "input": ["a", "bb"], "encoding_format": "float"}


def test_openai_base64_and_dimensions(proxy, openai_fake):
    # The SDK asks for base64 by default and decodes it to floats itself.
    result = proxy.openai(TOKEN).embeddings.create(model=SMALL, input="hello", dimensions=8)
    assert result.data[0].embedding == vector("hello", 8)
    assert openai_fake.calls[-1].body["encoding_format"] == "base64"
    assert openai_fake.calls[-1].body["dimensions"] == 8


def test_gemini_goes_through_batch_embed_contents(proxy, gemini_fake):
    result = proxy.openai(TOKEN).embeddings.create(model=GEMINI, input=["one", "two"],
                                                   dimensions=4, encoding_format="float")
    assert len(result.data) == 2 and [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 4 for d in result.data)
    assert result.model == GEMINI
    assert result.usage.prompt_tokens == 0 and result.usage.total_tokens == 0
    call = gemini_fake.calls[-1]
    assert call.path == f"/v1beta/models/{GEMINI}:batchEmbedContents"
    assert call.key == gem_key(0)
    assert call.body == {"requests": [
        {"model": f"models/{GEMINI}", "content": {"parts": [{"text": "one"}]},
         "outputDimensionality": 4},
        {"model": f"models/{GEMINI}", "content": {"parts": [{"text": "two"}]},
         "outputDimensionality": 4}]}


def test_gemini_base64_is_float32_little_endian(proxy, gemini_fake):
    floats = embed(proxy, {"model": GEMINI, "input": "x", "dimensions": 6}).json()
    packed = embed(proxy, {"model": GEMINI, "input": "x", "dimensions": 6,
                           "encoding_format": "base64"}).json()
    raw = base64.b64decode(packed["data"][0]["embedding"])
    assert list(struct.unpack("<6f", raw)) == floats["data"][0]["embedding"]
    # And the SDK, which asks for base64 by default, decodes it to the same floats.
    sdk = proxy.openai(TOKEN).embeddings.create(model=GEMINI, input="x", dimensions=6)
    assert sdk.data[0].embedding == floats["data"][0]["embedding"]


def test_gemini_refuses_token_arrays(proxy, gemini_fake):
    resp = embed(proxy, {"model": GEMINI, "input": [[1, 2, 3]]})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "input"
    assert not [c for c in gemini_fake.calls if c.method == "POST"]


def test_an_anthropic_key_has_no_embeddings(make_proxy):
    fake = FakeAnthropic(valid_keys={ant_key(0)})
    try:
        proxy = make_proxy([{"provider": "anthropic", "model": "claude-sonnet-4-5",
                             "api_key": ant_key(0), "base_url": fake.url}], PROXY_TOKENS=TOKEN)
        with pytest.raises(openai.BadRequestError) as raised:
            proxy.openai(TOKEN).embeddings.create(model="claude-sonnet-4-5", input="x")
        assert "anthropic" in raised.value.message and "embeddings" in raised.value.message
        assert raised.value.body["type"] == "invalid_request_error"
        assert fake.calls == []
    finally:
        fake.close()


def test_keys_take_turns_and_fail_over(proxy, openai_fake):
    for _ in range(2):
        assert embed(proxy, {"model": SMALL, "input": "a"}).status_code == 200
    assert openai_fake.keys_used("/embeddings") == [OPENAI_KEY, OPENAI_KEY_2]
    openai_fake.fail(OPENAI_KEY, error(500, "The server had an error", "server_error"))
    assert embed(proxy, {"model": SMALL, "input": "a"}).status_code == 200
    assert openai_fake.keys_used("/embeddings")[2:] == [OPENAI_KEY, OPENAI_KEY_2]


def test_an_upstream_refusal_keeps_its_status(proxy, openai_fake, make_proxy):
    ada = make_proxy([{"provider": "openai", "model": "text-embedding-ada-002",
                       "api_key": OPENAI_KEY, "base_url": openai_fake.base_url}],
                     PROXY_TOKENS=TOKEN)
    resp = embed(ada, {"model": "text-embedding-ada-002", "input": "a", "dimensions": 3})
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "This model does not support specifying dimensions."


@pytest.mark.parametrize("body,status,param", [
    (b"not json", 400, None),
    ({"input": "a"}, 400, "model"),
    ({"model": SMALL}, 400, "input"),
    ({"model": SMALL, "input": 5}, 400, "input"),
    ({"model": SMALL, "input": []}, 400, "input"),
    ({"model": SMALL, "input": ["a", 1]}, 400, "input"),
    ({"model": SMALL, "input": "a", "dimensions": 0}, 400, "dimensions"),
    ({"model": SMALL, "input": "a", "encoding_format": "hex"}, 400, "encoding_format"),
    ({"model": "nope", "input": "a"}, 404, "model"),
    ([1, 2], 400, None),
])
def test_bad_input_in_openai_envelope(proxy, openai_fake, body, status, param):
    resp = embed(proxy, body)
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    assert err["param"] == param
    assert not [c for c in openai_fake.calls if c.path == "/v1/embeddings"]


def test_a_missing_token_is_401(proxy):
    resp = proxy.http.post(proxy.base + "/embeddings", json={"model": SMALL, "input": "a"})
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "authentication_error"
