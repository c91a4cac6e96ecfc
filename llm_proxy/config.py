"""Config: everything read once at startup from the environment, `.env` and LLM_KEYS."""
from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .providers import PROVIDERS, canonical_provider

log = logging.getLogger(__name__)

ENTRY_FIELDS = ("provider", "model", "api_key", "base_url", "enabled")


class ConfigError(RuntimeError):
    """A setting that stops the start; its message is one line and never holds a secret."""


@dataclass
class Config:
    keys: list = field(default_factory=list)
    admin_token: str = ""
    admin_token_generated: bool = False
    proxy_tokens: tuple = ()
    cors_origins: tuple = ("*",)
    upstream_timeout: float = 600.0
    connect_timeout: float = 10.0
    max_attempts: int = 5
    key_cooldown_seconds: float = 60.0
    key_recheck_seconds: float = 300.0
    max_body_bytes: int = 32 * 1024 * 1024
    log_level: str = "INFO"
    log_format: str = "text"
    # The shared pool (SPEC §8): empty redis_url keeps the pool in this process.
    redis_url: str = ""
    redis_prefix: str = "llm-proxy"
    encryption_key: str = ""
    testing: bool = False
    # Startup warnings (repeated or unknown entries): logged by the app once logging is set.
    warnings: list = field(default_factory=list)

    @classmethod
    def from_env(cls, environ=None, dotenv_path: str | None = ".env") -> "Config":
        """Read the configuration; the process environment wins over `.env`."""
        env = load_environment(environ, dotenv_path)
        warnings: list[str] = []
        keys = parse_keys(env.get("LLM_KEYS"), "LLM_KEYS", warnings)
        sources = [f"LLM_KEYS entry {i}" for i in range(len(keys))]
        if env.get("LLM_KEYS_FILE"):
            more = parse_keys(_read_keys_file(env["LLM_KEYS_FILE"]), "LLM_KEYS_FILE", warnings)
            keys += more
            sources += [f"LLM_KEYS_FILE entry {i}" for i in range(len(more))]
        warnings += duplicate_warnings(keys, sources)
        admin_token = env.get("ADMIN_TOKEN", "").strip()
        redis_url = _redis_url(env.get("REDIS_URL", ""))
        if redis_url and not admin_token:
            raise ConfigError("ADMIN_TOKEN must be set when REDIS_URL is set: every process "
                              "sharing the pool needs the same token (and derives the key "
                              "that encrypts the stored secrets from it unless "
                              "ENCRYPTION_KEY is set)")
        return cls(
            keys=keys,
            admin_token=admin_token or secrets.token_urlsafe(32),
            admin_token_generated=not admin_token,
            proxy_tokens=_csv(env.get("PROXY_TOKENS", "")),
            cors_origins=_csv(env.get("CORS_ORIGINS", "*")) or ("*",),
            upstream_timeout=_number(env, "UPSTREAM_TIMEOUT", 600.0),
            connect_timeout=_number(env, "UPSTREAM_CONNECT_TIMEOUT", 10.0),
            max_attempts=int(_number(env, "MAX_ATTEMPTS", 5, minimum=1, integer=True,
                                     maximum=None)),
            key_cooldown_seconds=_number(env, "KEY_COOLDOWN_SECONDS", 60.0, minimum=0),
            key_recheck_seconds=_number(env, "KEY_RECHECK_SECONDS", 300.0, minimum=0),
            max_body_bytes=int(_number(env, "MAX_BODY_BYTES", 32 * 1024 * 1024,
                                       minimum=1024, integer=True, maximum=None)),
            log_level=_log_level(env.get("LOG_LEVEL", "INFO")),
            log_format=_choice(env, "LOG_FORMAT", ("text", "json"), "text"),
            redis_url=redis_url,
            redis_prefix=_redis_prefix(env.get("REDIS_PREFIX", "")),
            encryption_key=env.get("ENCRYPTION_KEY", "").strip(),
            warnings=warnings,
        )


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


def _read_keys_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as fh:  # editors may add a BOM
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"LLM_KEYS_FILE: cannot read {path!r}: {exc.strerror}") from None


def parse_keys(text: str | None, source: str, warnings: list | None = None) -> list[dict]:
    """Validate a JSON array of key entries; errors name the entry index and the field.

    Fields the proxy does not know are ignored, with a line added to `warnings`: a typo
    such as "baseurl" would otherwise silently send the key to the default URL.
    """
    if text is None or not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # exc.msg and the position only: the document itself may hold secrets.
        raise ConfigError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}") from None
    except RecursionError:
        raise ConfigError(f"{source} is not valid JSON: nested too deeply") from None
    if not isinstance(data, list):
        raise ConfigError(f"{source} must be a JSON array of key entries, "
                          f"got a JSON {_json_type(data)}")
    entries = []
    for index, item in enumerate(data):
        try:
            entries.append(validate_entry(item))
        except EntryError as exc:
            raise ConfigError(f"{source} entry {index}: {exc}") from None
        unknown = [name for name in item if name not in ENTRY_FIELDS]
        if unknown and warnings is not None:
            warnings.append(f"{source} entry {index}: unknown field(s) "
                            f"{', '.join(_field_label(n) for n in unknown)} ignored "
                            f"(known: {', '.join(ENTRY_FIELDS)})")
    return entries


def _field_label(name: str) -> str:
    # A name that is not a plain word could be a secret pasted in the wrong place.
    if re.fullmatch(r"[A-Za-z_-]{1,24}", name):
        return repr(name)
    return "(a field name not shown)"


def duplicate_warnings(entries: list[dict], sources: list[str]) -> list[str]:
    """One line per entry repeating an earlier one (same provider, model and api_key)."""
    first: dict[tuple, str] = {}
    lines = []
    for entry, source in zip(entries, sources):
        identity = (entry["provider"], entry["model"], entry["api_key"])
        if identity in first:
            lines.append(f"{source} repeats {first[identity]} (same provider, model and "
                         "api_key); the repeat is ignored")
        else:
            first[identity] = source
    return lines


class EntryError(ValueError):
    """One invalid field of a key entry; `field` names it, the message never holds the secret."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"field '{field_name}' {message}")
        self.field = field_name


MAX_MODEL_CHARS = 256
MAX_API_KEY_CHARS = 4096
MAX_BASE_URL_CHARS = 2048
# Gemini puts the model into the URL path (/v1beta/models/{model}:generateContent), so
# its names are held to the characters Google's model ids use.
_GEMINI_MODEL = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")


def validate_entry(item, *, partial: bool = False, provider: str | None = None) -> dict:
    """A clean copy of a key entry, or EntryError naming the first bad field.

    With partial=True (an edit), only the fields present are checked and returned;
    `provider` is then the edited key's provider, for the rules that depend on it.
    """
    if not isinstance(item, dict):
        raise EntryError("entry", f"must be a JSON object, got a JSON {_json_type(item)}")
    out: dict = {}
    if not partial or "provider" in item:
        out["provider"] = provider = _validate_provider(item.get("provider"))
    if not partial or "model" in item:
        out["model"] = _validate_model(item.get("model"), provider)
    if not partial or "api_key" in item:
        out["api_key"] = _validate_api_key(item.get("api_key"))
    if "base_url" in item and item["base_url"] not in (None, ""):
        out["base_url"] = validate_base_url(item["base_url"])
    elif "base_url" in item:
        out["base_url"] = None
    if "enabled" in item:
        if not isinstance(item["enabled"], bool):
            raise EntryError("enabled", "must be true or false")
        out["enabled"] = item["enabled"]
    if (provider == "openai-compatible" and not out.get("base_url")
            and ("base_url" in out or not partial)):
        raise EntryError("base_url", "is required for provider openai-compatible")
    return out


def _validate_provider(raw) -> str:
    if raw is None:
        raise EntryError("provider", "is missing")
    provider = canonical_provider(raw)
    if provider is None:
        raise EntryError("provider", f"must be one of {', '.join(PROVIDERS)} (or xai)")
    return provider


def _validate_model(model, provider: str | None) -> str:
    if model is None:
        raise EntryError("model", "is missing")
    if not isinstance(model, str) or not model.strip():
        raise EntryError("model", "must be a non-empty string")
    model = model.strip()
    if len(model) > MAX_MODEL_CHARS:
        raise EntryError("model", f"must be at most {MAX_MODEL_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in model):
        raise EntryError("model", "must not contain control characters")
    _unicode_text(model, "model")
    if provider == "gemini" and (not _GEMINI_MODEL.fullmatch(model)
                                 or ".." in model.split("/")):
        raise EntryError("model", "must be a Gemini model id (letters, digits, '.', '-', "
                                  "'_' and '/')")
    return model


def _validate_api_key(api_key) -> str:
    # Messages never quote the value: it is the secret, even when malformed.
    if api_key is None:
        raise EntryError("api_key", "is missing")
    if not isinstance(api_key, str) or not api_key:
        raise EntryError("api_key", "must be a non-empty string")
    if len(api_key) > MAX_API_KEY_CHARS:
        raise EntryError("api_key", f"must be at most {MAX_API_KEY_CHARS} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in api_key):
        raise EntryError("api_key", "must not contain whitespace or control characters")
    if not api_key.isascii():
        # Keys travel in HTTP headers; a masked key copied back ("sk-a…wxyz") lands here.
        raise EntryError("api_key", "must contain only ASCII characters (a masked key "
                                    "cannot be imported)")
    return api_key


def validate_base_url(value) -> str:
    if not isinstance(value, str):
        raise EntryError("base_url", "must be a string")
    value = value.strip()
    if len(value) > MAX_BASE_URL_CHARS:
        raise EntryError("base_url", f"must be at most {MAX_BASE_URL_CHARS} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise EntryError("base_url", "must not contain whitespace or control characters")
    _unicode_text(value, "base_url")
    parts = urlsplit(value)
    try:
        parts.port  # raises on a port that is not a number in range
    except ValueError:
        raise EntryError("base_url", "has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EntryError("base_url", "must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise EntryError("base_url", "must not carry credentials")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        # Endpoint paths are appended to base_url; a query would end up in the middle.
        raise EntryError("base_url", "must not have a query string or fragment")
    return value.rstrip("/")


def _unicode_text(value: str, field_name: str) -> None:
    """EntryError for a lone surrogate (JSON's \\ud800): no header, URL or label can carry it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise EntryError(field_name, "must be valid Unicode text (it holds a lone "
                                     "surrogate)") from None


def _json_type(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            type(None): "null"}.get(type(value), "number")


def _csv(value: str) -> tuple:
    return tuple(part.strip() for part in value.split(",") if part.strip())


# Seconds settings end at a day: longer is surely a typo, and infinite ones break the
# socket timeouts they become.
MAX_SECONDS = 86400.0


def _number(env: dict, name: str, default, *, minimum: float = 0.001, integer=False,
            maximum: float | None = MAX_SECONDS):
    raw = env.get(name)
    if raw is None or not str(raw).strip():
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {'whole ' if integer else ''}number, "
                          f"got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:g}, got {raw!r}")
    return value


def _redis_url(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    scheme = urlsplit(value).scheme
    if scheme not in ("redis", "rediss", "unix"):
        # The URL may carry a password: never quoted.
        raise ConfigError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    return value


def _redis_prefix(raw: str) -> str:
    value = raw.strip() or "llm-proxy"
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
        raise ConfigError(f"REDIS_PREFIX must be 1 to 64 letters, digits or . _ : -, "
                          f"got {raw!r}")
    return value


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                          f"got {raw!r}")
    return level


def _choice(env: dict, name: str, allowed: tuple, default: str) -> str:
    value = env.get(name, default).strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value
