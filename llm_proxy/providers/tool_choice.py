"""OpenAI's `tool_choice`, read once for every adapter that has to translate it."""
from __future__ import annotations

from ..errors import InvalidRequest

MODES = ("auto", "none", "required")


def read_tool_choice(choice) -> tuple[str, str | None]:
    """(mode, function name): a mode of MODES with None, or ("function", name); else 400."""
    if isinstance(choice, str) and choice in MODES:
        return choice, None
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(name, str):
        return "function", name
    raise InvalidRequest("'tool_choice' must be 'auto', 'none', 'required' or "
                         '{"type": "function", "function": {"name": ...}}.',
                         param="tool_choice", code="invalid_value")
