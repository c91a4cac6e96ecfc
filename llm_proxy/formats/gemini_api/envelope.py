"""Gemini's API as a client format: stream framing and Google's error envelope.

Errors are `{"error": {"code", "message", "status"}}`, `status` the canonical gRPC code
name for the HTTP status (https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes,
https://cloud.google.com/apis/design/errors#handling_errors); the `google-genai` SDK
raises ClientError for 4xx and ServerError for 5xx with that code, status and message.
Streams (`streamGenerateContent?alt=sse`) are Server-Sent Events whose each `data:` is a
whole GenerateContentResponse, with no closing event: the last one carries the
finishReason.
"""
from __future__ import annotations

import json

from ...errors import ProxyError
from ..base import ClientFormat

# The gRPC code name Google answers with for each HTTP status.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
    508: "FAILED_PRECONDITION",
}
# Every canonical name (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto):
# an upstream Gemini error keeps its own.
CODE_NAMES = frozenset({"CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
                        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
                        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
                        "DATA_LOSS", "UNAUTHENTICATED"})


def status_name(err: ProxyError) -> str:
    """The gRPC code name of `err`: Gemini's own when it came from Gemini, else by status."""
    code = err.code.upper() if isinstance(err.code, str) else None
    if code in CODE_NAMES:
        return code
    if err.status in STATUS_NAMES:
        return STATUS_NAMES[err.status]
    return "FAILED_PRECONDITION" if err.status < 500 else "INTERNAL"


def error_body(status: int, message: str, name: str) -> dict:
    return {"error": {"code": status, "message": message, "status": name}}


class GeminiFormat(ClientFormat):
    name = "gemini"

    def frame(self, payload: bytes) -> bytes:
        return b"data: " + payload + b"\r\n\r\n"

    def stream_error(self, message: str) -> bytes:
        return self.frame(json.dumps(error_body(502, message, "UNAVAILABLE")).encode())

    def render_error(self, err: ProxyError) -> tuple[bytes, int, dict]:
        body = error_body(err.status, err.message, status_name(err))
        return (json.dumps(body).encode(), err.status,
                {"Content-Type": "application/json", **err.headers()})


GEMINI = GeminiFormat()
