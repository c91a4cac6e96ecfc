"""Key fields upstream_model, api_version, rpm, quota_group (SPEC §10): validated at start
and by the admin API, shown by it, and an alias over keys of several providers."""
from __future__ import annotations

import json

import pytest

from anthropic_common import ant_key
from conftest import HELLO, good_key, id_of, key_entry, listed, sse_payloads
from fake_azure import FakeAzure
from test_config import SECRET, config_error, entry

from llm_proxy.config import Config


# -- validation at start: one line naming the entry and the field -------------------------

@pytest.mark.parametrize("fields, field", [
    ({"upstream_model": 7}, "upstream_model"),
    ({"upstream_model": "gpt\n4o"}, "upstream_model"),
    ({"upstream_model": "x" * 300}, "upstream_model"),
    ({"provider": "gemini", "upstream_model": "models/../x"}, "upstream_model"),
    ({"api_version": "2024-10-21?x=1"}, "api_version"),
    ({"api_version": 20241021}, "api_version"),
    ({"rpm": 0}, "rpm"),
    ({"rpm": -3}, "rpm"),
    ({"rpm": 1.5}, "rpm"),
    ({"rpm": "60"}, "rpm"),
    ({"rpm": True}, "rpm"),
    ({"rpm": 10 ** 9}, "rpm"),
    ({"quota_group": 3}, "quota_group"),
    ({"quota_group": "   "}, "quota_group"),
    ({"quota_group": "a\tb"}, "quota_group"),
    ({"model": "gpt-4o,claude"}, "model"),
])
def test_a_bad_routing_field_stops_the_start_naming_entry_and_field(fields, field):
    entries = [entry(api_key="sk-other-0123456789"), entry(**fields)]
    message = config_error({"LLM_KEYS": json.dumps(entries)})
    assert message.startswith(f"LLM_KEYS entry 1: field '{field}'"), message


def test_routing_fields_are_read_and_empty_ones_mean_unset():
    config = Config.from_env({"LLM_KEYS": json.dumps([
        entry(upstream_model=" gpt-4o ", api_version="2025-04-01-preview", rpm=30,
              quota_group="project-a"),
        entry(api_key="sk-other-0123456789", upstream_model="", quota_group=None)])},
        dotenv_path=None)
    first, second = config.keys
    assert (first["upstream_model"], first["api_version"], first["rpm"],
            first["quota_group"]) == ("gpt-4o", "2025-04-01-preview", 30, "project-a")
    assert second["upstream_model"] is None and second.get("quota_group") is None
    assert SECRET not in repr(config.warnings)


# -- the admin API: 400 naming the field; shown in /api/keys; editable ---------------------

def test_the_admin_api_refuses_a_bad_field_by_name(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0)])
    base = {"provider": "openai", "model": "gpt-4o", "api_key": good_key(1)}
    for bad, field in [({"rpm": 0}, "rpm"), ({"quota_group": ""}, None),
                       ({"api_version": "a b"}, "api_version"),
                       ({"upstream_model": ["x"]}, "upstream_model")]:
        resp = proxy.admin("POST", "/api/keys", {**base, **bad})
        if field is None:  # "" means unset: accepted
            assert resp.status_code == 201, resp.text
            assert resp.json()["quota_group"] is None
            proxy.admin("DELETE", f"/api/keys/{resp.json()['id']}")
            continue
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["param"] == field
        assert f"'{field}'" in resp.json()["error"]["message"]
    key_id = id_of(proxy, good_key(0))
    resp = proxy.admin("PATCH", f"/api/keys/{key_id}", {"rpm": "fast"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "rpm"
    assert len(openai_upstream.calls) == 0


def test_fields_are_listed_added_and_edited(make_proxy, openai_upstream):
    proxy = make_proxy([key_entry(openai_upstream, 0, upstream_model="gpt-4o-2024-08-06",
                                  rpm=60, quota_group="org-1")])
    [key] = listed(proxy).values()
    assert (key["upstream_model"], key["api_version"], key["rpm"], key["quota_group"]) == \
        ("gpt-4o-2024-08-06", None, 60, "org-1")
    resp = proxy.admin("PATCH", f"/api/keys/{key['id']}",
                       {"rpm": None, "quota_group": "org-2", "upstream_model": None})
    assert resp.status_code == 200, resp.text
    edited = resp.json()
    assert (edited["upstream_model"], edited["rpm"], edited["quota_group"]) == \
        (None, None, "org-2")
    assert edited["source"] == "api"
    added = proxy.admin("POST", "/api/keys", {
        "provider": "azure", "model": "smart", "api_key": good_key(1),
        "base_url": "https://example.openai.azure.com", "upstream_model": "my-deployment",
        "api_version": "2025-04-01-preview"}).json()
    assert (added["upstream_model"], added["api_version"]) == \
        ("my-deployment", "2025-04-01-preview")


# -- an alias over several providers and upstream names ------------------------------------

def smart_pool(openai_upstream, anthropic_upstream) -> list:
    return [key_entry(openai_upstream, 0, model="smart", upstream_model="gpt-4o"),
            {"provider": "anthropic", "model": "smart", "api_key": ant_key(0),
             "base_url": anthropic_upstream.url, "upstream_model": "claude-sonnet-4-5"}]


def test_an_alias_rotates_over_providers_each_sent_its_own_name(
        make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(smart_pool(openai_upstream, anthropic_upstream))
    answers = [proxy.chat({**HELLO, "model": "smart"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert [c.body["model"] for c in openai_upstream.calls] == ["gpt-4o"] * 2
    assert [c.body["model"] for c in anthropic_upstream.calls] == ["claude-sonnet-4-5"] * 2
    # The answer names the model the client asked for, whichever key served it.
    assert [a.json()["model"] for a in answers] == ["smart"] * 4
    assert [a.headers["x-llm-proxy-model"] for a in answers] == ["smart"] * 4
    ids = [a.headers["x-llm-proxy-key"] for a in answers]
    assert ids == [id_of(proxy, good_key(0)), id_of(proxy, ant_key(0))] * 2
    models = proxy.http.get(proxy.url + "/v1/models").json()["data"]
    assert [m["id"] for m in models] == ["smart"]


def test_streams_of_an_alias_carry_its_name(make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(smart_pool(openai_upstream, anthropic_upstream))
    for _ in range(2):
        resp = proxy.chat({**HELLO, "model": "smart", "stream": True})
        chunks = [p for p in sse_payloads(resp) if p != "[DONE]"]
        assert chunks and all(c["model"] == "smart" for c in chunks)
    assert openai_upstream.calls[0].body["model"] == "gpt-4o"
    assert openai_upstream.calls[0].body["stream_options"] == {"include_usage": True}
    assert anthropic_upstream.calls[0].body["model"] == "claude-sonnet-4-5"


def test_messages_and_responses_passthrough_send_the_upstream_name(
        make_proxy, openai_upstream, anthropic_upstream):
    proxy = make_proxy(smart_pool(openai_upstream, anthropic_upstream))
    turn = [{"role": "user", "content": "hi"}]
    first = proxy.messages({"model": "smart", "max_tokens": 32, "messages": turn})
    second = proxy.messages({"model": "smart", "max_tokens": 32, "messages": turn,
                             "stream": True})
    assert first.status_code == 200 and first.json()["model"] == "smart"
    assert '"model": "smart"' in second.text or '"model":"smart"' in second.text
    assert openai_upstream.calls[0].body["model"] == "gpt-4o"
    assert anthropic_upstream.calls[0].body["model"] == "claude-sonnet-4-5"
    resp = proxy.http.post(proxy.url + "/v1/responses",
                           json={"model": "smart", "input": "hi"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["model"] == "smart"
    assert [c.path for c in openai_upstream.calls][-1].endswith("/responses")
    assert openai_upstream.calls[-1].body["model"] == "gpt-4o"


# -- Azure: the deployment is upstream_model, the version api_version ----------------------

def test_azure_takes_the_deployment_and_version_from_the_key(make_proxy):
    azure = FakeAzure(valid_keys={good_key(0)}, deployments=("prod-gpt4o",))
    try:
        proxy = make_proxy([{"provider": "azure", "model": "gpt-4o", "api_key": good_key(0),
                             "base_url": azure.base_url, "upstream_model": "prod-gpt4o",
                             "api_version": "2025-04-01-preview"}])
        resp = proxy.chat(HELLO)
        assert resp.status_code == 200, resp.text
        assert resp.json()["model"] == "gpt-4o"
        check = proxy.admin("POST", f"/api/keys/{id_of(proxy, good_key(0))}/test")
        assert check.json()["ok"] is True
        assert [(c.path, c.query["api-version"]) for c in azure.calls] == [
            ("/openai/deployments/prod-gpt4o/chat/completions", ["2025-04-01-preview"]),
            ("/openai/models", ["2025-04-01-preview"])]
        assert azure.calls[0].body["model"] == "prod-gpt4o"
    finally:
        azure.close()
