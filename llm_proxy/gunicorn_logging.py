"""gunicorn's own log lines as JSON when LOG_FORMAT=json (`logger_class` in gunicorn.conf.py).

gunicorn builds its error and access handlers from its flags (--log-level, --error-logfile,
--access-logfile); only their formatter is replaced here, so every flag keeps working.
"""
from __future__ import annotations

from gunicorn.glogging import Logger

from .logs import JsonFormatter


class JsonLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
