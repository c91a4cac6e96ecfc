"""Provider registry: names, aliases, default base URLs and the adapter for each."""
from __future__ import annotations

# Default base URLs follow each provider's own SDK convention (SPEC §2): the OpenAI-style
# ones include the version prefix, Anthropic and Gemini add it in their adapters.
DEFAULT_BASE_URLS: dict[str, str | None] = {
    "openai": "https://api.openai.com/v1",
    "deepseek": "https://api.deepseek.com",
    "grok": "https://api.x.ai/v1",
    "openai-compatible": None,
    "azure": None,  # the resource's own endpoint, https://NAME.openai.azure.com
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
}
ALIASES = {"xai": "grok"}
PROVIDERS = tuple(DEFAULT_BASE_URLS)

_adapters: dict = {}


def canonical_provider(name: str) -> str | None:
    """The registry name for `name` (aliases resolved, case-insensitive), or None if unknown."""
    if not isinstance(name, str):
        return None
    name = name.strip().lower()
    name = ALIASES.get(name, name)
    return name if name in DEFAULT_BASE_URLS else None


def adapter_for(provider: str):
    """The shared, stateless adapter instance of a provider."""
    adapter = _adapters.get(provider)
    if adapter is None:
        adapter = _adapters[provider] = _make_adapter(provider)
    return adapter


def _make_adapter(provider: str):
    if provider == "anthropic":
        from .anthropic import AnthropicAdapter
        return AnthropicAdapter()
    if provider == "gemini":
        from .gemini import GeminiAdapter
        return GeminiAdapter()
    if provider == "azure":
        from .azure import AzureOpenAIAdapter
        return AzureOpenAIAdapter()
    from .openai import OpenAIAdapter
    return OpenAIAdapter(provider)
