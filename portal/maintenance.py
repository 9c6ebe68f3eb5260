"""Upkeep in the background of every worker: seal new audit events every few seconds, purge
expired rows every ten minutes, verify the audit chain once a day. Each job takes an advisory
lock, so however many workers run, one at a time does a job and the others skip it."""

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from quart import Quart
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit_chain, background, locks, retention
from portal.clock import Clock
from portal.errors import one_line
from portal.settings import Settings

log = logging.getLogger(__name__)
ROUND_SECONDS = 5.0
PURGE_ROUNDS = 120  # ten minutes
VERIFY_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Job:
    name: str
    rounds: int  # runs once every this many rounds
    run: Callable[[AsyncSession, datetime], Awaitable[object]]


def schedule(settings: Settings) -> tuple[Job, ...]:
    policy = retention.Policy.from_settings(settings)

    async def seal(db: AsyncSession, now: datetime) -> None:
        await audit_chain.seal(db, now=now)

    async def purge(db: AsyncSession, now: datetime) -> None:
        await retention.purge(db, now=now, policy=policy)

    return (
        Job("sealing the audit log", 1, seal),
        Job("the retention purge", PURGE_ROUNDS, purge),
        Job("verifying the audit log", PURGE_ROUNDS, verify_if_due),
    )


async def verify_if_due(db: AsyncSession, now: datetime) -> bool:
    """Verify the chain when the last verification is a day old, so the dashboard's tamper check
    stays current without an operator's cron job. True when it verified."""
    if not await locks.take(db, locks.AUDIT_CHAIN, wait=False):
        return False  # another worker is sealing or verifying; it is due again next time
    last = await audit_chain.last_verification(db)
    if last is not None and last.verified_at is not None and now - last.verified_at < VERIFY_EVERY:
        return False
    await audit_chain.verify(db, now=now)
    return True


def init_app(app: Quart, settings: Settings) -> None:
    jobs = schedule(settings)

    background.run_while_serving(app, "maintenance", lambda: keep_running(app, jobs))


async def keep_running(app: Quart, jobs: Sequence[Job], pause: float = ROUND_SECONDS) -> None:
    for round_number in itertools.count(1):
        await asyncio.sleep(pause)
        for job in jobs:
            if round_number % job.rounds == 0:
                # Looked up each time: tests swap the clock after the app is built.
                await run(app.extensions["db_sessions"], app.extensions["clock"], job)


async def run(sessions: async_sessionmaker[AsyncSession], clock: Clock, job: Job) -> bool:
    """One job in a transaction of its own. A failure (the database is down, say) is one line in
    the log and the job runs again next round: nothing here may stop the worker."""
    try:
        async with sessions() as db, db.begin():
            await job.run(db, clock())
        return True
    except Exception as exc:
        log.warning("%s failed: %s", job.name, one_line(exc))
        return False
