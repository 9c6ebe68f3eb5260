"""The background upkeep: its jobs run directly, a failure is one log line and never stops the
loop, and the app starts and stops the loop with itself."""

import asyncio
import logging
from datetime import datetime

import pytest
from quart import Quart
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit_chain, db, maintenance
from portal.settings import Settings
from tests.audit_tampering import add_events, scalar
from tests.conftest import FakeClock, running_app
from tests.flows import unit_of_work


async def test_each_job_runs_directly(
    app: Quart, settings: Settings, clock: FakeClock, database_url: str
) -> None:
    await add_events(database_url, 3)
    for job in maintenance.schedule(settings):
        assert await maintenance.run(app.extensions["db_sessions"], clock, job)
    assert await scalar(database_url, "SELECT count(*) FROM audit_seal") == 3
    assert await scalar(database_url, "SELECT ok FROM audit_verification") is True


async def test_the_chain_is_verified_once_a_day(database_url: str, clock: FakeClock) -> None:
    async def due() -> bool:
        async with unit_of_work(database_url) as session:
            return await maintenance.verify_if_due(session, clock())

    assert await due()
    clock.advance(hours=23)
    assert not await due()
    clock.advance(hours=1)
    assert await due()
    async with unit_of_work(database_url) as sealing:
        await audit_chain.seal(sealing, now=clock())
        clock.advance(days=2)
        assert not await due()  # another worker holds the chain: it will be due next round
    assert await scalar(database_url, "SELECT count(*) FROM audit_verification") == 2


async def test_a_failing_job_is_one_line_in_the_log(
    caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    engine = db.create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/portal")
    sessions = async_sessionmaker(engine, class_=AsyncSession)
    sealing = maintenance.schedule(Settings(env="development"))[0]
    with caplog.at_level(logging.WARNING, logger="portal.maintenance"):
        assert not await maintenance.run(sessions, clock, sealing)
    await engine.dispose()
    [record] = caplog.records
    assert record.getMessage().startswith("sealing the audit log failed: ")
    assert "\n" not in record.getMessage() and record.exc_info is None


async def test_the_loop_survives_a_failing_round(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    rounds: list[datetime] = []
    three = asyncio.Event()

    async def flaky(session: AsyncSession, now: datetime) -> None:
        rounds.append(now)
        if len(rounds) == 3:
            three.set()
        if len(rounds) == 1:
            await session.exec(text("SELECT 1 / 0"))  # type: ignore[call-overload]

    job = maintenance.Job("a flaky job", 1, flaky)
    with caplog.at_level(logging.WARNING, logger="portal.maintenance"):
        loop = asyncio.create_task(maintenance.keep_running(app, [job], pause=0))
        await asyncio.wait_for(three.wait(), timeout=30)
        loop.cancel()
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["a flaky job failed"]
    assert "division by zero" in caplog.records[0].getMessage()


async def test_the_app_runs_the_loop_while_serving(settings: Settings, clock: FakeClock) -> None:
    async with running_app(settings, clock) as app:
        loop = app.extensions["maintenance"]
        await asyncio.sleep(0)
        assert not loop.done()
    assert loop.cancelled()
