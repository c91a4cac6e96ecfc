"""Google Gemini's own API behind the OpenAI interface: the adapter and its translation."""
from .adapter import GeminiAdapter

__all__ = ["GeminiAdapter"]
