"""`portal demo`'s terminal lines: a page per line, no static file served well, the banner's
addresses, never a query string."""

import logging

from portal.demo import terminal
from portal.logs import fields

QUIET = terminal.Quiet({8001: "Acme Learning at http://localhost:8001/"})


def portal_request(path: str, status: int) -> logging.LogRecord:
    record = logging.LogRecord("portal.request", logging.INFO, "", 0, "request", None, None)
    values = fields(method="GET", path=path, status=status, duration_ms=12.4, client="127.0.0.1")
    record.__dict__.update(values)
    return record


def vendor_request(path: str, status: str) -> logging.LogRecord:
    atoms = {"m": "GET", "U": path, "s": status, "D": 2300, "q": "token=secret-token"}
    name = f"{terminal.SITE_LOGGER}.acme-learning"
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
    assert shown(vendor_request("/static/demo/vendor.css", "304")) is None
    assert "secret-token" not in str(shown(vendor_request("/sso/token", "303")))


def test_hypercorn_names_a_server_as_the_banner_does() -> None:
    message = "Running on http://127.0.0.1:8001 (CTRL + C to quit)"
    record = logging.LogRecord("hypercorn.error", logging.INFO, "", 0, message, None, None)
    assert shown(record) == "Acme Learning at http://localhost:8001/ is ready"


def test_a_warning_says_where_it_came_from() -> None:
    record = logging.LogRecord("portal.db", logging.WARNING, "", 0, "slow %s", ("query",), None)
    assert shown(record) == "warning (portal.db): slow query"
