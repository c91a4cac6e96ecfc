"""The adapter interface every provider implements, and the HTTP transport they share."""
from __future__ import annotations

import email.utils
from datetime import timezone
import json
import re
import time
from dataclasses import dataclass, field
from typing import Iterator

from .. import loop_guard
from ..errors import AUTH, BAD_REQUEST, LOOP, RATE_LIMITED, SERVER, UpstreamError
from ..key_pool import Key, mask_echoes
from . import DEFAULT_BASE_URLS, transport


@dataclass
class ChatRequest:
    """A validated client request: the parsed body (never mutated) and its raw bytes."""
    body: dict
    raw: bytes
    model: str
    stream: bool
    include_usage: bool = False


@dataclass
class UpstreamRequest:
    url: str
    headers: dict
    body: bytes | None = None
    method: str = "POST"


@dataclass
class Completion:
    """A non-streamed answer in OpenAI's format, ready to send, and its token usage."""
    body: bytes
    usage: dict | None = None


@dataclass
class StreamState:
    """What an adapter learns while translating a stream (read by the caller at the end)."""
    usage: dict | None = None
    finish_reason: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class SSEEvent:
    event: str | None
    data: bytes


class StreamBroken(Exception):
    """The upstream stream ended with an error after it had started."""

    def __init__(self, message: str, status: int = 502, type: str = "upstream_error"):
        super().__init__(message)
        self.message, self.status, self.type = message, status, type


class Adapter:
    """One provider's wire format. Transforms are pure; `send` is the only I/O."""

    provider = "openai"

    def base_url(self, key: Key) -> str:
        return (key.base_url or DEFAULT_BASE_URLS[key.provider] or "").rstrip("/")

    def build_request(self, chat: ChatRequest, key: Key) -> UpstreamRequest:
        raise NotImplementedError

    def parse_response(self, chat: ChatRequest, content: bytes) -> Completion:
        raise NotImplementedError

    def iter_chunks(self, chat: ChatRequest, events: Iterator[SSEEvent],
                    state: StreamState) -> Iterator[bytes]:
        """Yield the JSON of each OpenAI `chat.completion.chunk` (no SSE framing, no [DONE])."""
        raise NotImplementedError

    def probe_request(self, key: Key) -> UpstreamRequest:
        """The cheapest call that proves a key works."""
        raise NotImplementedError

    def parse_error(self, status: int, content: bytes, headers) -> UpstreamError:
        """The provider's error answer as an UpstreamError with `failure` and `retry_after`."""
        payload = _json_or_none(content)
        message, type_, code, param = _openai_error_fields(payload)
        failure = classify_status(status)
        if status == 508 and code == "loop_detected":
            # This proxy's own answer marks its key (it points back here). Another proxy's
            # is about the request's path, which a client's header can shape: no key state.
            failure = LOOP if loop_guard.ours(headers) else BAD_REQUEST
        return UpstreamError(
            clean_message(message) or f"Upstream answered HTTP {status}.",
            status=status, type=type_, code=code, param=param, failure=failure,
            retry_after=retry_after_from_headers(headers) if status == 429 else None)

    # -- transport ---------------------------------------------------------------------

    def send(self, req: UpstreamRequest, *, stream: bool,
             timeout: tuple[float, float]):
        """Send to the upstream, translating transport failures into ProxyErrors.

        The body is read on demand (`read_body`, or `.raw` for streams) in either case.
        """
        return transport.send(req.method, req.url, req.body, req.headers, timeout=timeout)

    @staticmethod
    def read_body(resp) -> bytes:
        """The whole upstream body, or the ProxyError for a body that broke off."""
        return transport.read_body(resp)


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


def classify_status(status: int) -> str:
    if status == 429:
        return RATE_LIMITED
    if status in (401, 403):
        return AUTH
    if status >= 500:  # Anthropic's 529 "overloaded" included
        return SERVER
    return BAD_REQUEST


def _json_or_none(content: bytes):
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _openai_error_fields(payload) -> tuple:
    """(message, type, code, param) from an OpenAI-style error body, tolerant of variants."""
    if not isinstance(payload, dict):
        return None, None, None, None
    err = payload.get("error", payload)
    if isinstance(err, str):
        return err, None, None, None
    if not isinstance(err, dict):
        return None, None, None, None
    code = err.get("code")
    return (err.get("message") if isinstance(err.get("message"), str) else None,
            err.get("type") if isinstance(err.get("type"), str) else None,
            str(code) if code is not None else None,
            err.get("param") if isinstance(err.get("param"), str) else None)


# Things that look like API keys or bearer tokens inside upstream messages: providers
# sometimes echo the key back ("Incorrect API key provided: sk-abc...").
_SECRETISH = re.compile(r"(?:sk|xai|gsk|AIza|key|pk)[-_A-Za-z0-9]{12,}|Bearer\s+\S+")
MAX_MESSAGE = 500


def clean_message(message: str | None, secrets: tuple = ()) -> str | None:
    """Trim an upstream message and mask anything that looks like a credential."""
    if not message:
        return message
    for secret in secrets:
        message = mask_echoes(message, secret)
    message = _SECRETISH.sub(lambda m: m.group(0)[:4] + "…", message)
    return message[:MAX_MESSAGE]


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
    from datetime import datetime
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
