"""Checking a key against its provider with the cheapest call that proves it works."""
from __future__ import annotations

import logging

from .errors import AUTH, BAD_REQUEST, ProxyError
from .key_pool import Key, KeyPool
from .providers import adapter_for

log = logging.getLogger(__name__)


def probe_key(key: Key, pool: KeyPool, config) -> dict:
    """Call the provider; mark the key valid or record the failure. Returns {ok, status, error}."""
    adapter = adapter_for(key.provider)
    try:
        resp = adapter.send(adapter.probe_request(key), stream=False,
                            timeout=(config.connect_timeout, min(config.upstream_timeout, 30)))
        content = adapter.read_body(resp)
        if resp.status_code < 400:
            pool.reset(key.id)
            return {"ok": True, "status": resp.status_code, "error": None}
        err = adapter.parse_error(resp.status_code, content, resp.headers)
    except ProxyError as exc:
        err = exc
    failure = getattr(err, "failure", BAD_REQUEST)
    if failure != BAD_REQUEST:
        pool.record_failure(key, failure, message=err.message,
                            retry_after=getattr(err, "retry_after", None), count=False)
    log.info("key tested id=%s ok=false status=%s reason=%s", key.id, err.status, failure)
    return {"ok": False, "status": err.status, "error": err.envelope()["error"],
            "invalid": failure == AUTH}
