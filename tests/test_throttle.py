"""The throttle's counters live in Postgres: concurrent failures from many workers all count."""

import asyncio
from datetime import UTC, datetime, timedelta

from portal import throttle
from portal.settings import Settings
from tests.flows import unit_of_work

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = throttle.Policy.from_settings(Settings(env="development"))


async def test_concurrent_failures_on_separate_connections_all_count(database_url: str) -> None:
    async def fail() -> None:
        async with unit_of_work(database_url) as session:
            await throttle.record_failure(session, "login:ada", "192.0.2.1", now=NOW, policy=POLICY)

    await asyncio.gather(*(fail() for _ in range(12)))
    async with unit_of_work(database_url) as session:
        verdict = await throttle.check(session, "login:ada", "192.0.2.2", now=NOW, policy=POLICY)
    assert not verdict.allowed
    assert verdict.retry_after == int(POLICY.account_delay(12).total_seconds()) + 1


async def test_over_rate_counts_per_minute_window(database_url: str) -> None:
    async with unit_of_work(database_url) as session:
        hits = [await throttle.over_rate(session, "vendor:a", now=NOW, limit=2) for _ in range(3)]
        later = await throttle.over_rate(
            session, "vendor:a", now=NOW + timedelta(minutes=1), limit=2
        )
    assert hits == [0, 0, 60]
    assert later == 0


async def test_address_failures_count_until_an_hour_passes_without_one(database_url: str) -> None:
    policy = throttle.Policy.from_settings(Settings(env="development", throttle_address_failures=3))

    async def fail_at(minutes: int, login: str) -> None:
        when = NOW + timedelta(minutes=minutes)
        await throttle.record_failure(session, login, "192.0.2.1", now=when, policy=policy)

    async def allowed_at(minutes: int) -> bool:
        when = NOW + timedelta(minutes=minutes)
        verdict = await throttle.check(session, "login:x", "192.0.2.1", now=when, policy=policy)
        return verdict.allowed

    async with unit_of_work(database_url) as session:
        await fail_at(0, "login:a")
        await fail_at(59, "login:b")
        await fail_at(120, "login:c")  # an hour without failures in between: counting restarts
        assert await allowed_at(121)
        await fail_at(150, "login:d")
        await fail_at(180, "login:e")  # the third in a row: the address waits an hour
        assert not await allowed_at(181)
        assert await allowed_at(241)
