"""Anthropic's Messages API as a client format: stream framing and the error envelope.

Errors are `{"type": "error", "error": {"type", "message"}}` with the HTTP status Anthropic
documents for each type (https://docs.anthropic.com/en/api/errors); the `anthropic` SDK
picks its exception class by that status (400 BadRequestError, 401 AuthenticationError,
403 PermissionDeniedError, 404 NotFoundError, 413 ContentTooLargeError, 429
RateLimitError, 529 OverloadedError, other 5xx InternalServerError). Streams are
Server-Sent Events whose `event:` line names the event type
(https://docs.anthropic.com/en/docs/build-with-claude/streaming): the SDK skips events
without one.
"""
from __future__ import annotations

import json

from ...errors import ProxyError
from ..base import NamedEventFormat, dumps, named_event  # noqa: F401 (dumps: re-exported)

# Anthropic's error type for each status it documents.
STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ERROR_TYPES = frozenset(STATUS_TYPES.values())


def error_type(err: ProxyError) -> str:
    """Anthropic's error type for `err`: by status first, as the SDK reads it."""
    if err.status in STATUS_TYPES:
        return STATUS_TYPES[err.status]
    if err.type in ERROR_TYPES:
        return err.type
    return "invalid_request_error" if err.status < 500 else "api_error"


# One payload: the event type, a newline, the event's JSON (see NamedEventFormat).
event = named_event


def error_body(kind: str, message: str, request_id: str | None = None) -> dict:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    if request_id:
        body["request_id"] = request_id
    return body


class MessagesFormat(NamedEventFormat):
    name = "anthropic-messages"

    def stream_error(self, message: str) -> bytes:
        return self.frame(event("error", error_body("api_error", message)))

    def render_error(self, err: ProxyError) -> tuple[bytes, int, dict]:
        body = error_body(error_type(err), err.message, getattr(err, "request_id", None))
        return (json.dumps(body).encode(), err.status,
                {"Content-Type": "application/json", **err.headers()})


MESSAGES = MessagesFormat()
