"""Checking a key against its provider with the cheapest call that proves it works."""
from __future__ import annotations

import logging

from .errors import AUTH, BAD_REQUEST, LOOP, ProxyError, UpstreamError
from .pool import OK, Lease, Outcome
from .providers import adapter_for
from .providers.base import _json_or_none
from .redaction import clean_message
from .transport import read_body, send

log = logging.getLogger(__name__)

# A models listing answers within a second or two; a check must not hang the admin page.
PROBE_READ_TIMEOUT = 30.0


def probe_key(lease: Lease, pool, config) -> dict:
    """Call the provider and report the outcome on the key's lease.

    Returns {"ok", "status", "error", "invalid"}: `error` is OpenAI's error object with the
    provider's message (the key masked in it), None when the key works. The report
    carries the lease's generation: a check of a secret edited meanwhile leaves the new
    secret's health alone.
    """
    try:
        err = _call(lease, config)
    except ProxyError as exc:
        err = exc
    if err is None:
        pool.report(lease, Outcome(OK, check=True))
        log.info("key tested key=%s model=%s provider=%s ok=true", lease.id, lease.model,
                 lease.provider)
        return {"ok": True, "status": 200, "error": None, "invalid": False}
    err.message = clean_message(err.message, (lease.api_key,)) or "The key check failed."
    failure = getattr(err, "failure", BAD_REQUEST)
    # check=True: a check is not a client request, so only the key's state and
    # last_error change, never its request statistics.
    pool.report(lease, Outcome(failure, message=err.message, check=True,
                               retry_after=getattr(err, "retry_after", None)))
    log.info("key tested key=%s model=%s provider=%s ok=false status=%s reason=%s",
             lease.id, lease.model, lease.provider, err.status, failure)
    return {"ok": False, "status": err.status, "error": err.envelope()["error"],
            "invalid": failure in (AUTH, LOOP)}


def _call(lease: Lease, config) -> ProxyError | None:
    """None when the provider accepted the key, else the error it answered with."""
    adapter = adapter_for(lease.provider)
    try:
        request = adapter.probe_request(lease)
    except NotImplementedError:
        return ProxyError(f"Keys of provider '{lease.provider}' cannot be checked.",
                          status=501, code="not_implemented")
    timeout = (config.connect_timeout, min(config.upstream_timeout, PROBE_READ_TIMEOUT))
    resp = send(request.method, request.url, request.body, request.headers, timeout=timeout)
    try:
        content = read_body(resp)
    finally:
        resp.close()
    if resp.status_code >= 400:
        return adapter.parse_error(resp.status_code, content, resp.headers)
    if resp.status_code >= 300 or not isinstance(_json_or_none(content), dict):
        # A redirect or an HTML page: base_url points somewhere that is not the API.
        return UpstreamError(f"The upstream answered HTTP {resp.status_code} without a "
                             "models listing; check base_url.", status=502,
                             code="unexpected_response", failure=BAD_REQUEST)
    return None

