"""Key entries: what one entry of LLM_KEYS or the admin API may hold, and LLM_KEYS arrays."""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from .config_error import ConfigError
from .providers import PROVIDERS, canonical_provider

# Providers without a default endpoint: each user's own server or Azure resource.
NEEDS_BASE_URL = ("openai-compatible", "azure")
# Routing fields (SPEC §10): optional, null (or "") meaning "not set".
ROUTING_FIELDS = ("upstream_model", "api_version", "rpm", "quota_group")
ENTRY_FIELDS = ("provider", "model", "api_key", "base_url", "enabled", *ROUTING_FIELDS)


class EntryError(ValueError):
    """One invalid field of a key entry; `field` names it, the message never holds the secret."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"field '{field_name}' {message}")
        self.field = field_name


MAX_MODEL_CHARS = 256
MAX_API_KEY_CHARS = 4096
MAX_BASE_URL_CHARS = 2048
MAX_GROUP_CHARS = 128
# An rpm above this is a typo (a key serving 100,000 requests a minute needs no pacing).
MAX_RPM = 100_000
# Azure's versions are dates with an optional "-preview" (2024-10-21, 2025-04-01-preview)
# or a word ("v1", "latest", "preview"): they go into the query string as they are.
_API_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
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
    for name in ROUTING_FIELDS:
        if name in item:
            out[name] = _ROUTING_CHECKS[name](item[name], provider)
    if (provider in NEEDS_BASE_URL and not out.get("base_url")
            and ("base_url" in out or not partial)):
        raise EntryError("base_url", f"is required for provider {provider}")
    return out


def _validate_provider(raw) -> str:
    if raw is None:
        raise EntryError("provider", "is missing")
    provider = canonical_provider(raw)
    if provider is None:
        raise EntryError("provider", f"must be one of {', '.join(PROVIDERS)} (or xai)")
    return provider


def _validate_model(model, provider: str | None, name: str = "model") -> str:
    if model is None:
        raise EntryError(name, "is missing")
    if not isinstance(model, str) or not model.strip():
        raise EntryError(name, "must be a non-empty string")
    model = model.strip()
    if len(model) > MAX_MODEL_CHARS:
        raise EntryError(name, f"must be at most {MAX_MODEL_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in model):
        raise EntryError(name, "must not contain control characters")
    _unicode_text(model, name)
    if "," in model and name == "model":
        # A comma-separated model in a request is a list of fallbacks (SPEC §10).
        raise EntryError(name, "must not contain ',' (a comma separates fallback models "
                               "in requests)")
    if provider == "gemini" and (not _GEMINI_MODEL.fullmatch(model)
                                 or ".." in model.split("/")):
        raise EntryError(name, "must be a Gemini model id (letters, digits, '.', '-', "
                               "'_' and '/')")
    return model


def _validate_upstream_model(value, provider: str | None) -> str | None:
    if value is None or value == "":
        return None
    return _validate_model(value, provider, "upstream_model")


def _validate_api_version(value, provider: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _API_VERSION.fullmatch(value.strip()):
        raise EntryError("api_version", "must be an API version such as 2024-10-21 "
                                        "(letters, digits, '.', '-', '_')")
    return value.strip()


def _validate_rpm(value, provider: str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RPM:
        raise EntryError("rpm", f"must be a whole number from 1 to {MAX_RPM}, or null "
                                "for no limit")
    return value


def _validate_quota_group(value, provider: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip():
        raise EntryError("quota_group", "must be a non-empty string, or null for none")
    value = value.strip()
    if len(value) > MAX_GROUP_CHARS:
        raise EntryError("quota_group", f"must be at most {MAX_GROUP_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise EntryError("quota_group", "must not contain control characters")
    _unicode_text(value, "quota_group")
    return value


_ROUTING_CHECKS = {"upstream_model": _validate_upstream_model,
                   "api_version": _validate_api_version, "rpm": _validate_rpm,
                   "quota_group": _validate_quota_group}


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



def read_keys_file(path: str) -> str:
    """The text of the file LLM_KEYS_FILE names, or ConfigError saying why not."""
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
