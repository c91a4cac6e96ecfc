"""Provider azure (SPEC §10): OpenAI's chat format at a deployment URL, key in `api-key`."""
from __future__ import annotations

import pytest

from conftest import HELLO, good_key, id_of
from fake_azure import FakeAzure
from helpers import sse_payloads

API_VERSION = "2024-10-21"


@pytest.fixture
def azure():
    fake = FakeAzure(valid_keys={good_key(i) for i in range(3)})
    yield fake
    fake.close()


def azure_entry(fake, i: int = 0, key: str | None = None, model: str = "gpt-4o") -> dict:
    return {"provider": "azure", "model": model, "api_key": key or good_key(i),
            "base_url": fake.base_url}


def test_chat_goes_to_the_deployment_with_the_key_in_api_key(make_proxy, azure):
    proxy = make_proxy([azure_entry(azure)])
    resp = proxy.chat(HELLO)
    assert resp.status_code == 200, resp.text
    assert resp.json()["object"] == "chat.completion"
    [call] = azure.calls
    assert call.path == "/openai/deployments/gpt-4o/chat/completions"
    assert call.query == {"api-version": [API_VERSION]}
    assert call.headers["api-key"] == good_key(0)
    assert "authorization" not in call.headers
    assert call.body == HELLO


def test_streams_ask_for_usage_and_the_key_counts_its_tokens(make_proxy, azure):
    proxy = make_proxy([azure_entry(azure)])
    resp = proxy.chat({**HELLO, "stream": True})
    assert resp.status_code == 200
    payloads = sse_payloads(resp)
    assert payloads[-1] == "[DONE]"
    assert azure.calls[0].body["stream_options"] == {"include_usage": True}
    # The usage chunk the proxy asked for is not passed on to a client that did not.
    assert all(p == "[DONE]" or p.get("choices") for p in payloads)
    stats = proxy.admin("GET", "/api/keys").json()["keys"][0]["stats"]
    assert stats["successes"] == 1 and stats["prompt_tokens"] > 0


def test_a_rejected_key_fails_over_and_is_marked_invalid(make_proxy, azure):
    proxy = make_proxy([azure_entry(azure, key="azure-key-not-valid-0123"),
                        azure_entry(azure, 1)])
    resp = proxy.chat(HELLO)
    assert resp.status_code == 200
    assert [c.headers["api-key"] for c in azure.calls] == ["azure-key-not-valid-0123",
                                                         good_key(1)]
    assert resp.headers["x-llm-proxy-key"] == id_of(proxy, good_key(1))
    keys = {k["id"]: k for k in proxy.admin("GET", "/api/keys").json()["keys"]}
    assert keys[id_of(proxy, "azure-key-not-valid-0123")]["status"] == "invalid"
    assert "azure-key-not-valid-0123" not in resp.text


def test_an_unknown_deployment_is_the_upstream_404_not_a_proxy_error(make_proxy, azure):
    proxy = make_proxy([azure_entry(azure, model="gpt-4o-mini")])
    resp = proxy.chat({**HELLO, "model": "gpt-4o-mini"})
    assert resp.status_code == 404
    assert "deployment" in resp.json()["error"]["message"]
    assert len(azure.calls) == 1


def test_the_key_check_lists_the_resource_models(make_proxy, azure):
    proxy = make_proxy([azure_entry(azure), azure_entry(azure, key="azure-key-not-valid-0123")])
    good = proxy.admin("POST", f"/api/keys/{id_of(proxy, good_key(0))}/test")
    bad = proxy.admin("POST", f"/api/keys/{id_of(proxy, 'azure-key-not-valid-0123')}/test")
    assert good.status_code == 200 and good.json()["ok"] is True
    assert bad.status_code == 200 and bad.json()["ok"] is False
    assert [(c.method, c.path, c.query) for c in azure.calls] == [
        ("GET", "/openai/models", {"api-version": [API_VERSION]})] * 2


def test_an_azure_key_needs_its_resource_endpoint(make_proxy, azure):
    proxy = make_proxy([azure_entry(azure)])
    resp = proxy.admin("POST", "/api/keys", {"provider": "azure", "model": "gpt-4o",
                                            "api_key": good_key(2)})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "base_url"
    assert "azure" in resp.json()["error"]["message"]
    providers = proxy.admin("GET", "/api/providers").json()
    assert "azure" in str(providers)


def test_the_openai_sdk_and_the_anthropic_sdk_reach_an_azure_key(make_proxy, azure):
    proxy = make_proxy([azure_entry(azure)])
    completion = proxy.openai().chat.completions.create(model="gpt-4o", messages=HELLO["messages"])
    assert completion.choices[0].message.content
    message = proxy.anthropic().messages.create(
        model="gpt-4o", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == completion.choices[0].message.content
    assert [c.path for c in azure.calls] == ["/openai/deployments/gpt-4o/chat/completions"] * 2
    assert azure.calls[1].body["max_tokens"] == 64 or \
        azure.calls[1].body.get("max_completion_tokens") == 64
