"""What the test_gemini_* modules share: the model and its paths, the keys the fake accepts,
key entries, request parts, the last request."""
from __future__ import annotations

import base64

MODEL = "gemini-2.5-flash"
PATH = f"/v1beta/models/{MODEL}:generateContent"
STREAM_PATH = f"/v1beta/models/{MODEL}:streamGenerateContent"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": False}}}
TIME_TOOL = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {}}}}
HI = [{"role": "user", "content": "hi"}]


def gem_key(i: int) -> str:
    """The i-th key the `gemini_upstream` fake accepts (0 to 3)."""
    return f"AIzaSyFake{i}-0123456789abcdefghijklmnop"


def gemini_entry(fake, i: int, key: str | None = None, model: str = MODEL) -> dict:
    """The LLM_KEYS entry of gem_key(i) (or `key`) for `model` at the fake Gemini `fake`."""
    return {"provider": "gemini", "model": model, "api_key": key or gem_key(i),
            "base_url": fake.url}


def sent_body(fake) -> dict:
    """The body of the last request the fake received."""
    return fake.calls[-1].body
