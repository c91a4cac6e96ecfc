"""What the test_gemini_api_* modules share: the proxy token, the google-genai client aimed
at the proxy, key entries of each provider."""
from __future__ import annotations

from anthropic_common import ant_key
from gemini_common import gem_key
from helpers import good_key

TOKEN = "proxy-token-for-gemini-clients"
MODEL = "gemini-2.5-flash"


def genai_client(proxy, api_key: str = TOKEN, api_version: str = "v1beta"):
    """The official google-genai SDK's client aimed at the proxy (no retries)."""
    from google import genai
    return genai.Client(api_key=api_key, http_options={
        "base_url": proxy.url, "api_version": api_version, "timeout": 30_000,
        "retry_options": {"attempts": 1}})


def entry(provider: str, fake, i: int = 0, model: str = MODEL) -> dict:
    """The LLM_KEYS entry of the i-th key the fake of `provider` accepts, for `model`."""
    if provider == "gemini":
        return {"provider": "gemini", "model": model, "api_key": gem_key(i),
                "base_url": fake.url}
    if provider == "anthropic":
        return {"provider": "anthropic", "model": model, "api_key": ant_key(i),
                "base_url": fake.url}
    return {"provider": provider, "model": model, "api_key": good_key(i),
            "base_url": fake.base_url}
