"""The one error type for bad input and missing things; one handler turns it into a response."""

import logging
from collections.abc import Awaitable, Callable

from quart import Quart, current_app, render_template, request
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class PortalError(Exception):
    """str() is a message meant for the person who made the request."""

    status = 400
    title: str | None = None  # the error page's heading, when the status's own would not fit

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


def one_line(exc: BaseException) -> str:
    """An exception as one short line, for a log or a row's last error."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return type(exc).__name__ + (f": {text.splitlines()[0][:200]}" if text else "")


class DatabaseUnavailable(Exception):
    """The database cannot be reached, or every connection is busy: a 503, never a 500."""


RETRY_AFTER_SECONDS = 10


class InvalidField(PortalError):
    """Bad input in one named field, so that a form can show the message next to it."""

    def __init__(self, field: str, message: str, status: int | None = None) -> None:
        super().__init__(message, status)
        self.field = field


class NotFound(PortalError):
    status = 404


class Conflict(PortalError):
    status = 409


def init_app(app: Quart) -> None:
    @app.errorhandler(PortalError)
    async def portal_error(error: PortalError) -> ResponseReturnValue:
        return await error_response(error.status, str(error), error.title)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> ResponseReturnValue:
        return await error_response(error.code or 500, http_message(error))

    @app.errorhandler(DatabaseUnavailable)
    async def database_unavailable(error: DatabaseUnavailable) -> ResponseReturnValue:
        log.warning("database unavailable: %s", error)  # the request's id names the request
        return await unavailable(DATABASE_DOWN)

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> ResponseReturnValue:
        log.exception("unexpected error")  # the request's id names the request
        return await error_response(500, "Something went wrong on our side.")


TITLES = {
    400: "That request can't be used",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


# Our words in place of the framework's stock descriptions ("The requested URL was not found on
# the server. If you entered the URL manually…"); a description of our own is kept.
HTTP_MESSAGES = {
    404: "There is no page at this address.",
    405: "This page can't be used that way.",
    413: "What was sent is too large for the portal to accept.",
}


def http_message(error: HTTPException) -> str:
    stock = error.description == type(error).description
    if stock and error.code in HTTP_MESSAGES:
        return HTTP_MESSAGES[error.code]
    return error.description or ""


DATABASE_DOWN = "The portal cannot reach its database just now. Please try again in a minute."


async def unavailable(message: str) -> ResponseReturnValue:
    """503 with Retry-After: the API in its JSON, the dashboard in its own look, members a page."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        return {"error": "temporarily_unavailable", "error_description": message}, 503, headers
    if request.path.startswith("/admin"):
        return await render_template("admin/unavailable.html", message=message), 503, headers
    page = await render_template(
        "errors/error.html", status=503, title=TITLES[503], message=message
    )
    return page, 503, headers


# An error page of a front end's own, for the paths under its prefix: (status, title, message)
# → the response. The dashboard registers one for /admin, so its errors keep its navigation.
ErrorPage = Callable[[int, str, str], Awaitable[ResponseReturnValue]]
ERROR_PAGES = "error_pages"


def register_error_page(app: Quart, prefix: str, page: ErrorPage) -> None:
    app.extensions.setdefault(ERROR_PAGES, {})[prefix] = page


async def error_response(
    status: int, message: str, title: str | None = None
) -> ResponseReturnValue:
    title = title or TITLES.get(status, "Error")
    if request.path.startswith("/api/"):
        return {"error": "invalid_request", "error_description": message or title}, status
    pages: dict[str, ErrorPage] = current_app.extensions.get(ERROR_PAGES, {})
    for prefix, own_page in pages.items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return await own_page(status, title, message)
    page = await render_template("errors/error.html", status=status, title=title, message=message)
    return page, status
