"""The delivery worker: a task in every app process, from the start of serving to its end,
that sends what the outbox holds (portal/mail/outbox.py). Without PORTAL_SMTP_URL it does not
run, and messages wait in the outbox until a server is configured."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from quart import Quart
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import background
from portal.mail import outbox, smtp
from portal.maintenance import one_line
from portal.settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # a reset link should arrive while the member is still looking


def init_app(app: Quart, settings: Settings) -> None:
    if not settings.smtp_url:
        return
    server = smtp.Server.from_url(settings.smtp_url)
    sender = settings.mail_from or ""

    background.run_while_serving(app, "mail", lambda: keep_delivering(app, server, sender))


async def keep_delivering(app: Quart, server: smtp.Server, sender: str) -> None:
    sessions: async_sessionmaker[AsyncSession] = app.extensions["db_sessions"]

    @asynccontextmanager
    async def unit() -> AsyncIterator[AsyncSession]:
        async with sessions() as db, db.begin():
            yield db

    while True:
        # The clock is looked up each round: tests swap it after the app is built.
        postman = outbox.Postman(server, sender, app.extensions["clock"])
        try:
            while await outbox.deliver_due(unit, postman):
                pass
        except Exception as exc:  # the database is down, say: try again next round
            log.warning("mail delivery failed: %s", one_line(exc))
        await asyncio.sleep(POLL_SECONDS)
