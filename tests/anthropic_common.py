"""What the test_anthropic_* modules share: the model, the keys the fake accepts, key
entries, request parts."""
from __future__ import annotations

import base64

MODEL = "claude-test"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
USER_HI = [{"role": "user", "content": "Hi"}]


def ant_key(i: int) -> str:
    """The i-th key the `anthropic_upstream` fake accepts (0 to 3)."""
    return f"sk-ant-api03-good{i}-0123456789abcdefghij"


def anthropic_entry(fake, i: int, key: str | None = None) -> dict:
    """The LLM_KEYS entry of ant_key(i) (or `key`) for MODEL at the fake Anthropic `fake`."""
    return {"provider": "anthropic", "model": MODEL, "api_key": key or ant_key(i),
            "base_url": fake.url}
