"""The configured models in Gemini's shape, for `GET /v1beta/models` and Google-style clients.

A Model per https://ai.google.dev/api/models#Model: `name` ("models/{id}"), `displayName`
and the methods it serves. The proxy knows a model only by its name, so a name that says
"embedding" is taken to embed and every other to generate; countTokens works for both.
"""
from __future__ import annotations

GENERATE_METHODS = ["generateContent", "streamGenerateContent", "countTokens"]
EMBED_METHODS = ["embedContent", "batchEmbedContents", "countTokens"]


def model_entry(name: str, provider: str) -> dict:
    methods = EMBED_METHODS if "embedding" in name.lower() else GENERATE_METHODS
    return {"name": f"models/{name}", "baseModelId": name, "version": "001",
            "displayName": name, "description": f"{name} through llm-proxy ({provider})",
            "supportedGenerationMethods": methods}


def model_list(models) -> dict:
    """`{"models": [...]}` for the pool's (name, provider) pairs."""
    return {"models": [model_entry(name, provider) for name, provider in models]}

