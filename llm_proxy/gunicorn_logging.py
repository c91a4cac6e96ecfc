"""gunicorn's own log lines beside the application's (`logger_class` in gunicorn.conf.py).

gunicorn builds its error and access handlers from its flags (--log-level, --error-logfile,
--access-logfile); they are kept, and only adjusted: console output goes to stdout, where
the application logs, and gunicorn's own lines take the application's format, text
(`2026-12-02 07:59:18,042 INFO gunicorn.error: ...`) or, with LOG_FORMAT=json, JSON lines
(the access log too). A token sent in a URL's query (`?key=`) is masked in every line.
"""
from __future__ import annotations

import logging
import sys

from gunicorn.glogging import Logger

from .logs import JsonFormatter, TextFormatter, redact_query


class StdoutLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # gunicorn writes "-" (its default error log) to stderr.
        for handler in self.error_log.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                handler.setStream(sys.stdout)
            handler.setFormatter(TextFormatter())
        # The access log keeps its own line (access_log_format says what it holds).

    def atoms(self, resp, req, environ, request_time):
        """The access log's values, with any credential in the query string masked (a
        format with %(r)s or %(q)s shows it)."""
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if isinstance(value, str) and "=" in value:
                bare = name in ("q", "{query_string}e")  # no "?" in front of these
                atoms[name] = redact_query("?" + value)[1:] if bare else redact_query(value)
        return atoms


class JsonLogger(StdoutLogger):
    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
