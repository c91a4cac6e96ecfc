"""Logging to stdout: one handler on the package logger, text or JSON lines."""
from __future__ import annotations

import json
import logging
import re
import sys
import time

_HANDLER_NAME = "llm_proxy"


# A client may send its token in a URL (Google's SDKs take `?key=`): a line that shows a
# URL's query (an access log format with %(r)s or %(q)s, say) never shows its value.
_QUERY_SECRET = re.compile(r"([?&](?:key|api_key|apikey|access_token|token)=)[^&\s\"']+",
                           re.I)


def redact_query(text: str) -> str:
    """`text` with the value of every credential-like query parameter masked."""
    if "=" not in text:
        return text
    return _QUERY_SECRET.sub(r"\1…", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the message's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}Z",
                 "level": record.levelname, "logger": record.name}
        message = redact_query(record.getMessage())
        entry["message"] = message
        # "event words k=v k=v" messages become fields too, so JSON users can filter on them.
        event, fields = split_fields(message)
        if fields:
            entry["event"] = event
            entry.update({k: _typed(k, v) for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    """`time level logger: message`, the time's text made once per second, not per line."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._second = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt=None) -> str:
        second = int(record.created)
        cached, text = self._second
        if cached != second:
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = (second, text)
        return f"{text},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        return redact_query(super().format(record))


_FIELD = re.compile(r"([a-z_][a-z0-9_]*)=(.*)", re.S)


def split_fields(message: str) -> tuple[str, dict]:
    """("key state", {"key": ..., "to": ...}) for "key state key=… to=…".

    The words before the first name=value are the event. A word without "=" after it
    belongs to the value before (a model name with a space); a URL's "#token=" is not
    a field name.
    """
    head: list[str] = []
    fields: dict[str, str] = {}
    last = None
    for word in message.split(" "):
        match = _FIELD.fullmatch(word)
        if match:
            last = match.group(1)
            fields[last] = match.group(2)
        elif last is None:
            head.append(word)
        else:
            fields[last] += " " + word
    return " ".join(head), fields


# Fields whose values are numbers or flags in JSON; ids stay strings even when all digits.
NUMBER_FIELDS = {"status", "attempts", "latency_ms", "retry_after", "seconds", "count"}
FLAG_FIELDS = {"stream", "ok"}


def _typed(name: str, value: str):
    """The JSON value of a `name=value` field: numbers and flags typed, the rest strings."""
    if name in FLAG_FIELDS and value in ("true", "false"):
        return value == "true"
    if name in NUMBER_FIELDS:
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                pass
    return value


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Attach one stdout handler to the `llm_proxy` logger (idempotent across app instances)."""
    logger = logging.getLogger("llm_proxy")
    logger.setLevel(level)
    for handler in logger.handlers:
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    logger.addHandler(handler)
    logger.propagate = False
