"""Keeping secrets out of what the proxy says: masking, echo detection, error answers.

Providers echo keys in their error messages ("Incorrect API key provided: ..."); messages
are masked where they are read, and as a last line of defence every error answer is
checked against every configured key before it leaves. Error bodies are small, so that
costs next to nothing; successful answers and streams are left untouched.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, quote_plus

log = logging.getLogger(__name__)


def mask_secret(secret: str) -> str:
    """At most the first 4 and last 4 characters around an ellipsis.

    Shorter secrets show less, so that at least two thirds of any secret stay hidden;
    under 6 characters nothing is shown.
    """
    shown = min(4, len(secret) // 6)
    if shown == 0:
        return "…"
    return f"{secret[:shown]}…{secret[-shown:]}"


# A run of this many characters of a secret, found in an upstream message, is an echo of
# it (a provider that shows all but the last three, say) and gets masked.
ECHO_FRAGMENT = 10


def echo_forms(secret: str) -> set[str]:
    """The ways a provider echoes a secret whole: raw, JSON-escaped and URL-encoded."""
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}


def mask_echoes(text: str, secret: str) -> str:
    """`text` with every echo of `secret` masked: each of its echo_forms, and any run of
    ECHO_FRAGMENT or more of its characters."""
    if not text or not secret:
        return text
    masked = mask_secret(secret)
    for form in echo_forms(secret):
        if form in text:
            text = text.replace(form, masked)
    if len(secret) < ECHO_FRAGMENT:
        return text
    start = 0
    while start <= len(secret) - ECHO_FRAGMENT:
        at = text.find(secret[start:start + ECHO_FRAGMENT])
        if at < 0:
            start += 1
            continue
        # Extend the run as far as text and secret agree, then mask it whole; look again
        # from the start, since another part of the secret may be echoed elsewhere.
        end, stop = start + ECHO_FRAGMENT, at + ECHO_FRAGMENT
        while end < len(secret) and stop < len(text) and secret[end] == text[stop]:
            end, stop = end + 1, stop + 1
        text = text[:at] + masked + text[stop:]
        start = 0
    return text


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


def init_app(app) -> None:
    """Mask any configured key found in an error response before it is sent."""
    pool = app.extensions["llm_proxy.pool"]

    @app.after_request
    def _mask_keys_in_errors(response):
        if response.status_code < 400 or response.is_streamed:
            return response
        body = response.get_data()
        masked = body
        for secret in pool.secrets():
            masked = mask_in(masked, secret)
        if masked is not body:
            response.set_data(masked)
            log.warning("masked a key echoed in an error answer status=%s",
                        response.status_code)
        return response
