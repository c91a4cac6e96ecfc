"""Reading a request body within the configured size limit, for every route."""
from __future__ import annotations

from flask import current_app, request

from .errors import PayloadTooLarge


def read_body() -> bytes:
    """The request body, or PayloadTooLarge once it passes MAX_BODY_BYTES.

    Werkzeug checks a Content-Length against the limit, but cuts a chunked body at the
    limit without an error, which would turn a too-large body into "invalid JSON".
    """
    environ = request.environ
    if request.content_length is not None or "wsgi.input_terminated" not in environ:
        return request.get_data(cache=False)
    limit = current_app.config["PROXY"].max_body_bytes
    stream, parts, size = environ["wsgi.input"], [], 0
    while True:
        data = stream.read(65536)
        if not data:
            return b"".join(parts)
        size += len(data)
        if size > limit:
            raise PayloadTooLarge()
        parts.append(data)
