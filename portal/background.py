"""Work the app runs beside its requests (the upkeep jobs, the signing-key listener, the outbox's
delivery, a loop per kind): one task per app process each, started when it serves and stopped
before it closes. A failure in one (the database is down, say) is one line in the log, and it
goes on."""

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any

from quart import Quart

from portal.errors import one_line
from portal.outbox.queue import Kind, deliver_due, units

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # a reset link should arrive while the member is still looking
PAUSE_AFTER_FAILURE = 10.0  # the database is down, say: one log line per pause, not per poll
# An outbox kind comes with what it holds open while the loop runs (logout: an HTTP client).
Opener = Callable[[], AbstractAsyncContextManager[Kind[Any]]]


def run_while_serving(app: Quart, name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work()` as a task while `app` serves, kept as app.extensions[name]. while_serving:
    it starts after the database engine is open and is cancelled before it is closed."""

    @app.while_serving
    async def running() -> AsyncGenerator[None, None]:
        task = asyncio.ensure_future(work())
        app.extensions[name] = task
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def deliver_outbox(app: Quart, openers: Sequence[Opener]) -> None:
    """The outbox's delivery (portal/outbox/), a task per kind this app sends. A kind it does
    not send (mail without PORTAL_SMTP_URL, logout notices without an issuer) is not in
    `openers`: its rows wait."""
    if openers:
        run_while_serving(app, "outbox", lambda: keep_delivering(app, openers))


async def keep_delivering(app: Quart, openers: Sequence[Opener]) -> None:
    # A task per kind: a slow mail server must not hold up sign-out notices, nor a failing
    # kind pause the others.
    async with asyncio.TaskGroup() as kinds:
        for opener in openers:
            kinds.create_task(deliver_kind(app, opener))


async def deliver_kind(app: Quart, opener: Opener) -> None:
    unit = units(app.extensions["db_sessions"])
    async with opener() as kind:
        while True:
            try:
                # The clock is looked up each round: tests swap it after the app is built.
                claimed = await deliver_due(unit, app.extensions["clock"], kind)
            except Exception as exc:  # the database is down, say: try again after a pause
                log.warning("delivering the outbox's %s failed: %s", kind.name, one_line(exc))
                await asyncio.sleep(PAUSE_AFTER_FAILURE)
                continue
            if claimed < kind.parallel:
                await asyncio.sleep(POLL_SECONDS)
