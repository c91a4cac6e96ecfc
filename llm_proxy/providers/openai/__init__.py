"""OpenAI's Chat Completions format (OpenAI, DeepSeek, xAI Grok, compatibles): its adapter."""
from .adapter import OpenAIAdapter

__all__ = ["OpenAIAdapter"]
