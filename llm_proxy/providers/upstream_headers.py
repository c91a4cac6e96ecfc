"""What providers say in their answers' headers: wait hints and request ids."""
from __future__ import annotations

import email.utils
import re
import time
from datetime import datetime, timezone

# Where providers name their id of a request: OpenAI, xAI and DeepSeek "x-request-id",
# Anthropic "request-id". Clients quote it to the provider's support.
REQUEST_ID_HEADERS = ("x-request-id", "request-id")
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")


def request_id_of(headers) -> str | None:
    """The provider's request id from an answer's headers, when it has a sane one."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value and _REQUEST_ID.fullmatch(value):
            return value
    return None


def retry_after_from_headers(headers) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or the providers' reset headers."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000.0, 0.001)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
        try:
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return max(parsed.timestamp() - time.time(), 0.0)
        except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
            pass  # unreadable (an absurd zone offset overflows): the other hints decide
    waits = []
    # OpenAI-style durations: "1s", "6m0s", "20ms".
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        seconds = parse_duration(headers.get(name))
        if seconds is not None:
            waits.append(seconds)
    # Anthropic: RFC 3339 timestamps of when each limit replenishes.
    for name in ("anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-reset",
                 "anthropic-ratelimit-input-tokens-reset",
                 "anthropic-ratelimit-output-tokens-reset"):
        stamp = parse_rfc3339(headers.get(name))
        if stamp is not None:
            waits.append(max(stamp - time.time(), 0.0))
    return max(waits) if waits else None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(value: str | None) -> float | None:
    """'6m0s' → 360.0; '20ms' → 0.02; '13s' → 13.0; None when not a duration."""
    if not value:
        return None
    value = value.strip()
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def parse_rfc3339(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
