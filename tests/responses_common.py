"""What the test_responses_* and Codex modules share: keys, entries, tools, event readers."""
from __future__ import annotations

import json

TOKEN = "proxy-token-for-responses"
OPENAI_KEY = "sk-good-0-0123456789abcdef"
OPENAI_KEY_2 = "sk-good-1-0123456789abcdef"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather of a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": False},
           "strict": True}


def openai_entry(fake, key: str = OPENAI_KEY, model: str = "gpt-5.1-codex",
                 provider: str = "openai") -> dict:
    return {"provider": provider, "model": model, "api_key": key, "base_url": fake.base_url}


def named_events(content: bytes) -> list:
    """(event name, data) of each event of a Responses stream, checking the two agree."""
    out = []
    for block in content.decode().strip().split("\n\n"):
        lines = block.split("\n")
        assert lines[0].startswith("event: "), block
        name = lines[0].removeprefix("event: ")
        data = json.loads("\n".join(line.removeprefix("data: ") for line in lines[1:]))
        assert data["type"] == name
        out.append((name, data))
    return out


def assert_well_formed(events: list) -> None:
    """Sequence numbers count up from 0; the stream opens and ends as OpenAI's does."""
    names = [name for name, _ in events]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert names[:2] == ["response.created", "response.in_progress"]
    assert names[-1] in ("response.completed", "response.incomplete")
