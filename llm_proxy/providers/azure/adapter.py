"""Azure OpenAI Service: the OpenAI chat body, sent to a deployment of the resource.

The call is `{base_url}/openai/deployments/{deployment}/chat/completions?api-version=...`
with the key in the `api-key` header (Azure ignores a Bearer key of a resource).
"""
from __future__ import annotations

from urllib.parse import quote

from ..base import ChatRequest, UpstreamRequest
from ..openai import OpenAIAdapter

# The latest generally available data-plane version, for keys that name none; it takes
# stream_options.include_usage.
API_VERSION = "2024-10-21"


class AzureOpenAIAdapter(OpenAIAdapter):
    def __init__(self):
        super().__init__("azure")

    def build_request(self, chat: ChatRequest, key) -> UpstreamRequest:
        plain = super().build_request(chat, key)
        # The deployment is the key's upstream_model (else its model): its name as the
        # resource knows it.
        deployment = quote(key.wire_model, safe="")
        return UpstreamRequest(
            url=f"{self.base_url(key)}/openai/deployments/{deployment}/chat/completions"
                f"?api-version={api_version(key)}",
            headers=_keyed(plain.headers, key), body=plain.body)

    def probe_request(self, key) -> UpstreamRequest:
        return UpstreamRequest(
            url=f"{self.base_url(key)}/openai/models?api-version={api_version(key)}",
            method="GET",
            headers=_keyed({}, key))


def api_version(key) -> str:
    return quote(key.api_version or API_VERSION, safe="")


def _keyed(headers: dict, key) -> dict:
    """`headers` with the key as Azure takes it, and no Bearer key."""
    out = {name: value for name, value in headers.items() if name != "Authorization"}
    out["api-key"] = key.api_key
    return out
