"""Azure OpenAI: OpenAI's chat format at a deployment URL, with the key in `api-key`."""
from .adapter import API_VERSION, AzureOpenAIAdapter

__all__ = ["API_VERSION", "AzureOpenAIAdapter"]
