"""Config: the settings read once at startup from the environment, `.env` and LLM_KEYS."""
from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# ConfigError has a module of its own so that the `.env` reader and LLM_KEYS parsing
# raise the same class; callers keep catching it as llm_proxy.config.ConfigError.
from .config_error import ConfigError
from .dotenv_file import load_environment
from .key_entries import duplicate_warnings, parse_keys, read_keys_file
from .fallbacks import parse_fallbacks


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
    # MODEL_FALLBACKS (SPEC §10): alias → models tried in order.
    fallbacks: dict = field(default_factory=dict)
    # MAX_WAIT_SECONDS: how long a request may wait for a cooling key instead of a 429.
    max_wait_seconds: float = 0.0
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
            more = parse_keys(read_keys_file(env["LLM_KEYS_FILE"]), "LLM_KEYS_FILE", warnings)
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
            fallbacks=parse_fallbacks(env.get("MODEL_FALLBACKS")),
            max_wait_seconds=_number(env, "MAX_WAIT_SECONDS", 0.0, minimum=0),
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
