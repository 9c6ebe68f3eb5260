"""What the portal tells its operators about each request: an id (X-Request-ID), one JSON log
line when the answer is sent (portal/logs.py), and the request metrics; and /metrics itself.

The request's own line carries its method, route, path, status, duration, client address and
user agent, never its query string (tokens travel there) or a header that carries credentials."""

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from prometheus_client import CONTENT_TYPE_LATEST
from quart import Blueprint, Quart, Response, abort, request
from quart.routing import QuartRule
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from portal import clock, db, metrics, query_strings, request_ids, settings
from portal.auth import throttle
from portal.errors import DatabaseUnavailable
from portal.logs import fields
from portal.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

ROUTE = "portal.route"  # where the app leaves the matched route in the ASGI scope
USER_AGENT_LENGTH = 200
log = logging.getLogger("portal.request")
blueprint = Blueprint("observe", __name__)


Headers = list[tuple[bytes, bytes]]
REQUEST_ID = b"x-request-id"


class Observed:
    """ASGI middleware around the portal: inside ProxyFix, so the client address it logs is
    the one our proxies vouch for. As an answer starts it adds, in one pass over its headers,
    the request id and what `answer_headers` adds (the security headers: portal/security.py),
    where after-request hooks cost Quart's per-request machinery on every answer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trust_request_id: bool,
        answer_headers: Callable[[Headers, str | None], Headers],
    ) -> None:
        self.app = app
        self.trust_request_id = trust_request_id
        self.answer_headers = answer_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id") if self.trust_request_id else None
        request_id = request_ids.choose(given, trusted=self.trust_request_id)
        bound = request_ids.bind(request_id)
        started = time.perf_counter()
        status = 500  # what Hypercorn answers when the app sends nothing

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = self.answer_headers(list(message.get("headers", ())), scope.get(ROUTE))
                headers.append((REQUEST_ID, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            answered(scope, status, time.perf_counter() - started)
            request_ids.unbind(bound)


def answered(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get(ROUTE)
    metrics.request_answered(scope["method"], route, status, seconds)
    if not log.isEnabledFor(logging.INFO):  # nothing to gather for a line nobody writes
        return
    client = scope.get("client")
    values = fields(
        method=scope["method"][:16],
        route=route,
        path=logged_path(scope["path"], route),
        status=status,
        duration_ms=round(seconds * 1000, 1),
        client=client[0] if client else None,
        user_agent=(header(scope, b"user-agent") or "")[:USER_AGENT_LENGTH],
    )
    # log.info() without its search of the stack for the caller's file and line, which the JSON
    # line never shows: the same record, through the same handlers and filters.
    log.handle(log.makeRecord(log.name, logging.INFO, "", 0, "request", (), None, extra=values))


def logged_path(path: str, route: str | None) -> str:
    """The path, except where it carries a secret (a password link's token): then the route,
    so that logs never hold a usable link."""
    return route if route is not None and "<token>" in route else path


def header(scope: Scope, name: bytes) -> str | None:
    """The last value of a request header (the one the nearest hop set), as latin-1 text."""
    found = [value for key, value in scope["headers"] if key.lower() == name]
    return found[-1].decode("latin-1") if found else None


class Request(query_strings.Request):
    """Quart's request, keeping what the rule it matched says as Quart matches it: the route,
    noted in its ASGI scope for the middleware's log line and metrics — the route pattern
    (/admin/vendors/<key>), not the path, a label for every request to one page, whatever its
    ids; an after-request hook did this, at the cost of a hook on every answer — and the
    blueprints, which Quart otherwise works out afresh the three times a request it asks."""

    _url_rule: QuartRule | None = None
    _blueprints: list[str] = []  # never changed: read, as Quart's own, to build other lists

    @property
    def url_rule(self) -> QuartRule | None:
        return self._url_rule

    @url_rule.setter
    def url_rule(self, rule: QuartRule | None) -> None:
        self._url_rule = rule
        self._blueprints = super().blueprints
        cast(Scope, self.scope)[ROUTE] = rule.rule if rule is not None else None

    @property
    def blueprints(self) -> list[str]:
        return self._blueprints


@blueprint.get("/metrics")
async def metrics_page() -> Response:
    """Prometheus's scrape. Off unless PORTAL_METRICS_TOKEN is set, and then only for a bearer
    of that token: the figures (vendors, volumes, failures) are nobody else's business."""
    token = settings.current().metrics_token
    if not token:
        abort(404)
    if not bearer_matches(request.headers.get("Authorization"), token):
        return Response(
            "A bearer token (PORTAL_METRICS_TOKEN) is required.\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="portal metrics"'},
            content_type="text/plain",
        )
    return Response(metrics.exposition(await snapshot()), content_type=CONTENT_TYPE_LATEST)


def bearer_matches(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    # Constant time: the comparison must not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("latin-1", "replace"), token.encode()
    )


async def snapshot() -> metrics.Snapshot | None:
    """The database's figures; without a database, /metrics still answers with the rest."""
    policy = throttle.Policy.from_settings(settings.current())
    try:
        async with db.transaction() as session:
            refusing = await throttle.count_refusing_accounts(
                session, now=clock.now(), policy=policy
            )
            locked = await throttle.count_locked_names(session, policy=policy)
    except DatabaseUnavailable:
        return None
    return metrics.Snapshot({"locked": locked, "delayed": refusing - locked})


def watch_pool() -> None:
    pool = db.engine().sync_engine.pool
    if isinstance(pool, QueuePool):
        metrics.DB_POOL_SIZE.inc(pool.size())
    event.listen(pool, "checkout", lambda *_: metrics.DB_CONNECTIONS_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: metrics.DB_CONNECTIONS_IN_USE.dec())


def init_app(
    app: Quart, settings: Settings, answer_headers: Callable[[Headers, str | None], Headers]
) -> None:
    """Before ProxyFix wraps the app (create_app), after db.init_app (the pool it watches)."""
    app.register_blueprint(blueprint)
    app.before_serving(watch_pool)
    app.after_serving(metrics.worker_stopped)
    app.asgi_app = Observed(  # type: ignore[method-assign,assignment]
        app.asgi_app,
        # Without a proxy of ours in front, X-Request-ID is whatever the client chose.
        trust_request_id=settings.proxy_hops > 0,
        answer_headers=answer_headers,
    )
