"""Last line of defence: no error answer leaves the proxy with a configured key in it.

Providers echo keys in their error messages ("Incorrect API key provided: ..."); adapters
mask what looks like a key, but a key of any shape can be echoed. Error bodies are
small, so checking them against every configured key costs next to nothing; successful
answers and streams are left untouched.
"""
from __future__ import annotations

import logging

from .key_pool import echo_forms, mask_secret

log = logging.getLogger(__name__)


def init_app(app) -> None:
    """Mask any configured key found in an error response before it is sent."""
    pool = app.extensions["llm_proxy.pool"]

    @app.after_request
    def _mask_keys_in_errors(response):
        if response.status_code < 400 or response.is_streamed:
            return response
        body = response.get_data()
        masked = body
        for key in pool.keys():
            masked = mask_in(masked, key.api_key)
        if masked is not body:
            response.set_data(masked)
            log.warning("masked a key echoed in an error answer status=%s",
                        response.status_code)
        return response


def mask_in(body: bytes, secret: str) -> bytes:
    """`body` with each raw or JSON-escaped `secret` masked; the same object if none."""
    if not secret:
        return body
    masked = mask_secret(secret).encode()
    for form in echo_forms(secret):
        raw = form.encode("utf-8", "surrogateescape")
        if raw in body:
            body = body.replace(raw, masked)
    return body
