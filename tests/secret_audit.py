"""Whole-run secret audit: every proxy response and log line, checked against every secret.

conftest.py hands each proxy app to `AUDIT.watch`, which records the status line,
headers and body of every response it sends and gathers the secrets it was configured
with (upstream keys, admin and client tokens, keys added later through the admin API).
A log handler records every log line. At the end of the run `AUDIT.leaks()` looks for
every secret in everything recorded; conftest fails the run if it finds one.
"""
from __future__ import annotations

import json
import logging
import threading

# Shorter "secrets" would match innocent text; the proxy's own keys are far longer.
MIN_SECRET_CHARS = 8
# Past this many recorded bytes, new records are checked at once instead of kept.
MAX_STORED_BYTES = 256 * 1024 * 1024


class SecretAudit:
    def __init__(self):
        self.secrets: set[str] = set()
        self.records: list[tuple[str, bytes]] = []
        self.stored = 0
        self.responses = 0
        self.log_lines = 0
        self.early_leaks: list[str] = []
        self._lock = threading.Lock()
        self._handler = _Recorder(self)
        self._handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    # -- gathering ------------------------------------------------------------------------

    def add_secret(self, secret) -> None:
        if isinstance(secret, str) and len(secret) >= MIN_SECRET_CHARS:
            with self._lock:
                self.secrets.add(secret)

    def add_config_secrets(self, app) -> None:
        config = app.config["PROXY"]
        for entry in config.keys:
            self.add_secret(entry.get("api_key"))
        self.add_secret(config.admin_token)
        for token in config.proxy_tokens:
            self.add_secret(token)
        for key in app.extensions["llm_proxy.pool"].keys():
            self.add_secret(key.api_key)

    def record(self, where: str, data: bytes) -> None:
        with self._lock:
            if self.stored + len(data) <= MAX_STORED_BYTES:
                self.records.append((where, data))
                self.stored += len(data)
                return
            secrets = list(self.secrets)
        leaks = _find(where, data, secrets)
        with self._lock:
            self.early_leaks += leaks

    def watch(self, app) -> None:
        """Record every response `app` sends, and its secrets; make sure logs are recorded."""
        self.add_config_secrets(app)
        self.install_log_handler()
        inner = app.wsgi_app

        def recording_app(environ, start_response):
            where = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"

            def capture(status, headers, exc_info=None):
                head = status + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
                self.record(where + " (status and headers)", head.encode("latin-1"))
                return start_response(status, headers, exc_info)

            return _RecordedBody(inner(environ, capture), self, app, where)

        app.wsgi_app = recording_app

    def install_log_handler(self) -> None:
        # The package logger does not propagate, so it gets the handler as well as root.
        for logger in (logging.getLogger(), logging.getLogger("llm_proxy")):
            if self._handler not in logger.handlers:
                logger.addHandler(self._handler)

    def remove_log_handler(self) -> None:
        for logger in (logging.getLogger(), logging.getLogger("llm_proxy")):
            logger.removeHandler(self._handler)

    # -- checking -------------------------------------------------------------------------

    def leaks(self) -> list[str]:
        """One line per (record, secret) found, the secret masked."""
        with self._lock:
            records, secrets = list(self.records), list(self.secrets)
        found = list(self.early_leaks)
        for where, data in records:
            found += _find(where, data, secrets)
        return found

    def summary(self) -> str:
        return (f"secret audit: {self.responses} responses and {self.log_lines} log lines "
                f"checked against {len(self.secrets)} secrets")


def _find(where: str, data: bytes, secrets) -> list[str]:
    found = []
    for secret in secrets:
        for form in {secret, json.dumps(secret)[1:-1]}:
            if form.encode() in data:
                found.append(f"{where}: contains the secret {secret[:3]}…"
                             f" ({len(secret)} characters)")
                break
    return found


class _RecordedBody:
    """A WSGI body passed through unchanged, recorded in full when the server closes it."""

    def __init__(self, body, audit: SecretAudit, app, where: str):
        self._body, self._audit, self._app, self._where = body, audit, app, where
        self._chunks: list[bytes] = []

    def __iter__(self):
        for chunk in self._body:
            self._chunks.append(chunk)
            yield chunk

    def close(self):
        try:
            close = getattr(self._body, "close", None)
            if close:
                close()
        finally:
            # Keys added through the admin API during the request are secrets too.
            self._audit.add_config_secrets(self._app)
            self._audit.responses += 1
            self._audit.record(self._where + " (body)", b"".join(self._chunks))


class _Recorder(logging.Handler):
    def __init__(self, audit: SecretAudit):
        super().__init__()
        self.audit = audit

    def emit(self, record):
        try:
            line = self.format(record)
        except Exception:  # a broken log call is the logger's problem, not the audit's
            return
        self.audit.log_lines += 1
        self.audit.record(f"log line of {record.name}", line.encode("utf-8", "replace"))


AUDIT = SecretAudit()
