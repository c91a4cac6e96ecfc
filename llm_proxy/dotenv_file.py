"""The `.env` reader: python-dotenv plus the unquoted multi-line JSON values it cannot read."""
from __future__ import annotations

import io
import os
import re

from dotenv import dotenv_values

from .config_error import ConfigError


def load_environment(environ=None, dotenv_path: str | None = ".env") -> dict:
    """`.env` values overlaid by the real environment."""
    environ = dict(os.environ if environ is None else environ)
    values = {}
    if dotenv_path and os.path.isfile(dotenv_path):
        with open(dotenv_path, encoding="utf-8-sig") as fh:  # editors may add a BOM
            values = read_dotenv(fh.read())
    values.update(environ)
    return values


# A value opened by '[' or '{' without quotes; python-dotenv would keep only that line.
_OPEN_VALUE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*([\[{].*)$")


def read_dotenv(text: str) -> dict:
    """Parse `.env` text, accepting unquoted JSON values spread over several lines.

    The original design documents `LLM_KEYS=[` followed by one entry per line and `]`,
    unquoted; python-dotenv reads that as "[". Such values are joined here until their
    brackets balance, the rest is left to python-dotenv.
    """
    multiline: dict[str, str] = {}
    rest: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _OPEN_VALUE.match(lines[i])
        if match and _bracket_depth(match.group(2)) > 0:
            end, value = _join_open_value(lines, i, match.group(2))
            if end is not None:
                multiline[match.group(1)] = value
                i = end
                continue
            if match.group(1) in ("LLM_KEYS", "LLM_KEYS_FILE"):
                raise ConfigError(f"{match.group(1)} in .env: the '{match.group(2)[0]}' "
                                  f"opened on line {i + 1} is never closed")
        rest.append(lines[i])
        i += 1
    values = {k: v for k, v in dotenv_values(stream=io.StringIO("\n".join(rest))).items()
              if v is not None}
    values.update(multiline)
    return values


def _join_open_value(lines: list[str], start: int, first: str) -> tuple:
    """(index after the closing line, joined value), or (None, None) if never closed.

    Whole-line `#` comments inside the value are dropped, as anywhere else in `.env`.
    """
    parts, depth = [first], _bracket_depth(first)
    i = start + 1
    while depth > 0 and i < len(lines):
        line = lines[i]
        i += 1
        if line.lstrip().startswith("#"):
            continue
        parts.append(line)
        depth += _bracket_depth(line)
    if depth > 0:
        return None, None
    return i, "\n".join(parts)


def _bracket_depth(line: str) -> int:
    """Net count of opening brackets on a line, ignoring those inside JSON strings."""
    depth, in_string, escaped = 0, False, False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth
