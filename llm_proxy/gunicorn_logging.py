"""gunicorn's own log lines beside the application's (`logger_class` in gunicorn.conf.py).

gunicorn builds its error and access handlers from its flags (--log-level, --error-logfile,
--access-logfile); they are kept, and only adjusted: console output goes to stdout, where
the application logs, and LOG_FORMAT=json swaps the formatter for JSON lines.
"""
from __future__ import annotations

import logging
import sys

from gunicorn.glogging import Logger

from .logs import JsonFormatter


class StdoutLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # gunicorn writes "-" (its default error log) to stderr.
        for handler in self.error_log.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                handler.setStream(sys.stdout)


class JsonLogger(StdoutLogger):
    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
