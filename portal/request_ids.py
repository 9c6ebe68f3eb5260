"""The request id: one per request, on every log line and audit event the request causes, and
returned to the client in X-Request-ID, so that one request can be followed from the proxy's log
through the portal's log to the audit log."""

import re
import secrets
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
# A proxy's id is taken only in this shape (a UUID, nginx's $request_id, Heroku's router id):
# nothing that could break a log line, or make it long, gets in.
ACCEPTED = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
MAX_LENGTH = 128

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current() -> str | None:
    """The id of the request being served, None outside a request (the maintenance loop, the
    command line)."""
    return _current.get()


def choose(given: str | None, *, trusted: bool) -> str:
    """The id our proxy gave the request, when we trust a proxy (PORTAL_PROXY_HOPS > 0) and it
    looks like an id; a new random one otherwise. Without a proxy the header is the client's own
    words, and a client must not choose the id that ties its requests to audit events."""
    if trusted and given and ACCEPTED.fullmatch(given):
        return given
    return secrets.token_hex(16)  # 32 hex digits, as uuid4().hex, without building a UUID


def bind(request_id: str) -> Token[str | None]:
    return _current.set(request_id)


def unbind(token: Token[str | None]) -> None:
    _current.reset(token)
