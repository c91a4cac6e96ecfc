"""gunicorn's own log lines beside the application's (`logger_class` in gunicorn.conf.py).

gunicorn builds its error and access handlers from its flags (--log-level, --error-logfile,
--access-logfile); they are kept, and only adjusted: console output goes to stdout, where
the application logs, and gunicorn's own lines take the application's format, text
(`2026-12-02 07:59:18,042 INFO gunicorn.error: ...`) or, with LOG_FORMAT=json, JSON lines
(the access log too).
"""
from __future__ import annotations

import logging
import sys

from gunicorn.glogging import Logger

from .logs import JsonFormatter, TextFormatter


class StdoutLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # gunicorn writes "-" (its default error log) to stderr.
        for handler in self.error_log.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                handler.setStream(sys.stdout)
            # The access log keeps its own line (access_log_format says what it holds).
            handler.setFormatter(TextFormatter())


class JsonLogger(StdoutLogger):
    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
