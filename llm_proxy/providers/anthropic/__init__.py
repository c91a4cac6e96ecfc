"""Anthropic's Messages API behind the OpenAI interface: the adapter and its translation."""
from .adapter import AnthropicAdapter

__all__ = ["AnthropicAdapter"]
