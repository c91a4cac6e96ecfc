"""Translated streams carry `"usage": null` on every chunk before the last, as OpenAI's do."""
import json

import pytest
from fake_anthropic import FakeAnthropic
from fake_gemini import FakeGemini

ANT_KEY = "sk-ant-api03-good0-0123456789abcdefghij"
GEM_KEY = "AIzaSyFake0-0123456789abcdefghijklmnop"


def payloads(resp) -> list:
    out = []
    for line in resp.iter_lines():
        if line.startswith(b"data: ") and line != b"data: [DONE]":
            out.append(json.loads(line[6:]))
    return out


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
@pytest.mark.parametrize("include_usage", [True, False])
def test_usage_member_of_each_chunk_follows_include_usage(make_proxy, provider, include_usage):
    fake = FakeAnthropic(valid_keys={ANT_KEY}) if provider == "anthropic" \
        else FakeGemini(valid_keys={GEM_KEY})
    try:
        proxy = make_proxy([{"provider": provider, "model": "m-1",
                             "api_key": ANT_KEY if provider == "anthropic" else GEM_KEY,
                             "base_url": fake.url}])
        body = {"model": "m-1", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
        if include_usage:
            body["stream_options"] = {"include_usage": True}
        resp = proxy.chat(body, stream=True)
        assert resp.status_code == 200
        chunks = payloads(resp)
    finally:
        fake.close()
    assert len(chunks) >= 3
    if include_usage:
        assert all("usage" in c and c["usage"] is None for c in chunks[:-1])
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    else:
        assert all("usage" not in c for c in chunks)
