"""Structured logs: one line per event, as text (`key=value`) or JSON."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else was passed with `extra=` and is a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{k}={_quote(v)}" for k, v in _fields(record).items())
        line = f"{_time(record)} {record.levelname:<7} {record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value: object) -> str:
    text = str(value)
    return (
        json.dumps(text, ensure_ascii=False) if (not text or " " in text or "=" in text) else text
    )


def configure(level: str = "INFO", fmt: str = "text") -> logging.Logger:
    """Send monitor's logs to stderr; returns the `monitor` logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger = logging.getLogger("monitor")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
    # APScheduler's own chatter ("Running job …") only at DEBUG, through the same handler.
    aps = logging.getLogger("apscheduler")
    aps.handlers[:] = [handler]
    aps.setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)
    aps.propagate = False
    if level.upper() != "DEBUG":
        handler.addFilter(_still_running)  # a logger's filter would not see its children's
    return logger


def _still_running(record: logging.LogRecord) -> bool:
    """Not APScheduler's warning that a periodic job's run was skipped because the last one
    still runs: here every job runs once at a time by design, and an alert round that waits
    out a mail server's timeout (30 s) repeated it every 5 s. The round's own outcome is
    logged when it ends."""
    return not (
        record.name.startswith("apscheduler")
        and "maximum number of running instances reached" in record.getMessage()
    )
