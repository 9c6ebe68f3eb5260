"""Retention: each table's rule, the rows that must survive it, and concurrent purges."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlmodel import SQLModel

from portal import retention, session_vendors
from portal.auth import throttle
from portal.auth.models import AuthSession, SignInThrottle
from portal.enhanced.models import SsoToken
from portal.models import RateCounter
from portal.settings import Settings
from tests.audit_tampering import scalar
from tests.flows import add_member, add_vendor, unit_of_work

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
SETTINGS = Settings(env="development")
POLICY = retention.Policy.from_settings(SETTINGS)
DAY = timedelta(days=1)
TABLES = (
    "sso_token", "auth_session", "oidc_token", "sign_in_throttle", "rate_counter", "account_link",
    "outbox",
)  # fmt: skip


async def add(url: str, *rows: SQLModel) -> list[int]:
    async with unit_of_work(url) as session:
        session.add_all(rows)
        await session.flush()
        return [int(getattr(row, "id", 0) or 0) for row in rows]


async def a_session(url: str, *, expires: datetime, ended: datetime | None = None) -> int:
    [found] = await add(
        url,
        AuthSession(
            id_hash=f"{expires.timestamp()}-{ended}"[:64],
            member_id=1,
            created_at=expires - timedelta(hours=12),
            last_seen_at=expires - timedelta(hours=12),
            expires_at=expires,
            ended_at=ended,
        ),
    )
    return found


async def tokens(url: str, session_id: int, *expiries: datetime) -> list[int]:
    return await add(
        url,
        *(
            SsoToken(
                token_hash=f"{session_id}-{i}",
                vendor_id=1,
                member_id=1,
                session_id=session_id,
                issued_at=expires - timedelta(seconds=60),
                expires_at=expires,
            )
            for i, expires in enumerate(expiries)
        ),
    )


async def purge(
    url: str, policy: retention.Policy = POLICY, now: datetime = NOW
) -> dict[str, int] | None:
    async with unit_of_work(url) as session:
        return await retention.purge(session, now=now, policy=policy)


async def ids(url: str, table: str) -> list[int]:
    return list(await scalar(url, f"SELECT array_agg(id ORDER BY id) FROM {table}") or [])


async def people(url: str) -> None:
    await add_member(url)
    await add_vendor(url)


async def test_tokens_go_a_day_after_they_expire(database_url: str) -> None:
    await people(database_url)
    ended = await a_session(database_url, expires=NOW + timedelta(hours=6), ended=NOW)
    old, recent, current = await tokens(
        database_url, ended, NOW - DAY - timedelta(minutes=1), NOW - DAY + timedelta(minutes=1), NOW
    )
    deleted = await purge(database_url)
    assert deleted is not None and deleted["sso_token"] == 1
    assert await ids(database_url, "sso_token") == [recent, current]
    assert old not in await ids(database_url, "sso_token")


async def test_tokens_stay_while_their_session_could_be_alive(database_url: str) -> None:
    """A replayed token ends its session: in a 3-day session, the token must be there to
    recognise a replay for 3 days."""
    await people(database_url)
    ended = await a_session(database_url, expires=NOW + DAY, ended=NOW)
    await tokens(database_url, ended, NOW - 2 * DAY, NOW - 4 * DAY)
    policy = retention.Policy.from_settings(Settings(env="development", session_max_hours=72))
    deleted = await purge(database_url, policy)
    assert deleted is not None and deleted["sso_token"] == 1
    assert await scalar(database_url, "SELECT count(*) FROM sso_token") == 1


async def test_the_vendors_a_session_reached_outlive_its_tokens(database_url: str) -> None:
    """A session that timed out unnoticed must still find them when it is ended, to tell those
    vendors (single logout): session_vendor says it, kept with the session, not the tokens."""
    await people(database_url)
    unnoticed = await a_session(database_url, expires=NOW - 3 * DAY)
    await tokens(database_url, unnoticed, NOW - 4 * DAY)
    async with unit_of_work(database_url) as session:
        await session_vendors.record(session, unnoticed, 1, "enhanced", now=NOW - 4 * DAY)
    deleted = await purge(database_url)
    assert deleted is not None and deleted["sso_token"] == 1
    async with unit_of_work(database_url) as session:
        reached = await session_vendors.vendors_used(session, [unnoticed])
    assert [vendor.key for vendor in reached[unnoticed]] == ["acme"]


async def test_sessions_go_thirty_days_after_they_end_with_their_tokens(database_url: str) -> None:
    await people(database_url)
    month = timedelta(days=30)
    ended_long_ago = await a_session(
        database_url, expires=NOW - month + DAY, ended=NOW - month - timedelta(minutes=1)
    )
    expired_long_ago = await a_session(database_url, expires=NOW - month - timedelta(minutes=1))
    ended_lately = await a_session(database_url, expires=NOW, ended=NOW - month + DAY)
    live = await a_session(database_url, expires=NOW + timedelta(hours=1))
    await tokens(database_url, ended_long_ago, NOW - month)
    deleted = await purge(database_url)
    assert deleted is not None and deleted["auth_session"] == 2
    assert await ids(database_url, "auth_session") == [ended_lately, live]
    assert expired_long_ago not in await ids(database_url, "auth_session")
    assert await scalar(database_url, "SELECT count(*) FROM sso_token") == 0


def counter(subject: str, failures: int, last: datetime, **more: object) -> SignInThrottle:
    return SignInThrottle(
        scope=str(more.get("scope", "account")),
        subject=subject,
        consecutive_failures=failures,
        last_failure_at=last,
        blocked_until=more.get("blocked_until"),
    )


async def test_throttle_counters_are_forgotten_only_when_harmless(database_url: str) -> None:
    lockout = SETTINGS.throttle_lockout_failures
    old, month = NOW - timedelta(days=31), timedelta(days=30)
    await add(
        database_url,
        counter("quiet", lockout - 1, old),
        counter("192.0.2.1", 3, old, scope="address"),
        counter("locked", lockout, NOW - timedelta(days=3650)),
        counter("lately", 3, NOW - month + DAY),
        counter("waiting", 7, old, blocked_until=NOW + timedelta(minutes=1)),
    )
    deleted = await purge(database_url)
    assert deleted is not None and deleted["sign_in_throttle"] == 2
    left = await scalar(database_url, "SELECT array_agg(subject ORDER BY id) FROM sign_in_throttle")
    assert left == ["locked", "lately", "waiting"]


async def test_a_locked_account_stays_locked_through_any_purge(database_url: str) -> None:
    lockout_3 = Settings(env="development", throttle_lockout_failures=3)
    policy = throttle.Policy.from_settings(lockout_3)
    async with unit_of_work(database_url) as session:
        for _ in range(3):
            await throttle.reserve(session, "member:ada", "192.0.2.9", now=NOW, policy=policy)
    later = NOW + timedelta(days=3650)
    await purge(database_url, retention.Policy.from_settings(lockout_3), now=later)
    async with unit_of_work(database_url) as session:
        verdict, _ = await throttle.reserve(session, "member:ada", None, now=later, policy=policy)
    assert verdict.locked


async def test_rate_counters_older_than_this_minute_go(database_url: str) -> None:
    minute = NOW.replace(second=0)
    await add(
        database_url,
        RateCounter(bucket="vendor:acme", window_start=minute, hits=5),
        RateCounter(bucket="vendor:acme", window_start=minute - timedelta(minutes=1), hits=9),
        RateCounter(bucket="vendor:cc", window_start=minute - timedelta(days=9), hits=1),
    )
    deleted = await purge(database_url)
    assert deleted is not None and deleted["rate_counter"] == 2
    assert await scalar(database_url, "SELECT hits FROM rate_counter") == 5


async def test_two_purges_at_once_do_not_both_run(database_url: str) -> None:
    await people(database_url)
    ended = await a_session(database_url, expires=NOW, ended=NOW)
    await tokens(database_url, ended, NOW - 2 * DAY)
    async with unit_of_work(database_url) as first:
        running = await retention.purge(first, now=NOW, policy=POLICY)
        assert running is not None and running["sso_token"] == 1
        # Another worker skips, without error or waiting (a wait would never end here).
        assert await asyncio.wait_for(purge(database_url), timeout=30) is None
    again = await purge(database_url)
    assert again == dict.fromkeys(TABLES, 0)


async def test_retention_periods_are_settings(database_url: str) -> None:
    await people(database_url)
    ended = await a_session(database_url, expires=NOW, ended=NOW - 8 * DAY)
    week = retention.Policy.from_settings(Settings(env="development", retention_session_days=7))
    assert await purge(database_url) == dict.fromkeys(TABLES, 0)
    deleted = await purge(database_url, week)
    assert deleted is not None and deleted["auth_session"] == 1
    assert ended not in await ids(database_url, "auth_session")
