"""The throttle's counters live in Postgres: reservations on many connections at once get exactly
what the policy allows. Expected numbers are written out, never computed by the code under test."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from portal import rate_limits
from portal.auth import throttle
from portal.auth.devices import Device
from portal.settings import Settings
from tests.flows import unit_of_work

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = throttle.Policy.from_settings(Settings(env="development"))  # 5 free, 30 s doubling


async def reserve(
    database_url: str, key: str = "member:ada", address: str | None = "192.0.2.1", **moment: int
) -> throttle.Verdict:
    async with unit_of_work(database_url) as session:
        now = NOW + timedelta(**moment)
        verdict, _ = await throttle.reserve(session, key, address, now=now, policy=POLICY)
        return verdict


async def test_parallel_reservations_on_separate_connections_get_exactly_five(
    database_url: str,
) -> None:
    verdicts = await asyncio.gather(*(reserve(database_url) for _ in range(24)))
    assert sum(v.allowed for v in verdicts) == 5
    assert {v.retry_after for v in verdicts if not v.allowed} == {31}


async def test_the_delay_doubles_per_failure_and_is_capped(database_url: str) -> None:
    waits = []
    for hour in range(12):  # one failure an hour: every delay has ended before the next
        assert (await reserve(database_url, hours=hour)).allowed
        async with unit_of_work(database_url) as session:
            blocked_until = (
                await session.execute(
                    text("SELECT blocked_until FROM sign_in_throttle WHERE scope = 'account'")
                )
            ).scalar_one()
        wait = blocked_until - (NOW + timedelta(hours=hour)) if blocked_until else timedelta(0)
        waits.append(wait.total_seconds())
    assert waits == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]


async def test_after_the_lockout_count_the_name_stays_locked(database_url: str) -> None:
    policy = throttle.Policy.from_settings(Settings(env="development", throttle_lockout_failures=3))
    async with unit_of_work(database_url) as session:
        for day in range(3):
            now = NOW + timedelta(days=day)
            verdict, _ = await throttle.reserve(session, "member:ada", None, now=now, policy=policy)
            assert verdict.allowed
        later = NOW + timedelta(days=365)
        verdict, _ = await throttle.reserve(session, "member:ada", None, now=later, policy=policy)
    assert not verdict.allowed and verdict.locked


async def test_a_success_forgets_the_name_and_gives_the_network_its_attempt_back(
    database_url: str,
) -> None:
    policy = throttle.Policy.from_settings(Settings(env="development", throttle_address_failures=2))
    async with unit_of_work(database_url) as session:
        _, first = await throttle.reserve(session, "member:a", "192.0.2.1", now=NOW, policy=policy)
        assert first is not None
        await throttle.succeeded(session, first)
        await throttle.give_back_network(session, first, policy)
        _, second = await throttle.reserve(session, "member:b", "192.0.2.1", now=NOW, policy=policy)
        assert second is not None  # the success did not count against the network
        verdict, _ = await throttle.reserve(
            session, "member:c", "192.0.2.1", now=NOW, policy=policy
        )
        assert verdict.allowed  # the second failure: the network now waits an hour
        verdict, _ = await throttle.reserve(
            session, "member:d", "192.0.2.1", now=NOW, policy=policy
        )
    assert not verdict.allowed and verdict.retry_after == 3601


async def test_a_refund_takes_the_attempt_back(database_url: str) -> None:
    async with unit_of_work(database_url) as session:
        for _ in range(4):
            await throttle.reserve(session, "member:ada", "192.0.2.1", now=NOW, policy=POLICY)
        _, fifth = await throttle.reserve(
            session, "member:ada", "192.0.2.1", now=NOW, policy=POLICY
        )
        assert fifth is not None
        await throttle.refund(session, fifth, POLICY)  # iMIS did not answer: not a failure
        verdict, _ = await throttle.reserve(
            session, "member:ada", "192.0.2.1", now=NOW, policy=POLICY
        )
    assert verdict.allowed


async def test_network_failures_count_until_an_hour_passes_without_one(database_url: str) -> None:
    policy = throttle.Policy.from_settings(Settings(env="development", throttle_address_failures=3))

    async def allowed_at(minutes: int, login: str) -> bool:
        async with unit_of_work(database_url) as session:
            when = NOW + timedelta(minutes=minutes)
            verdict, _ = await throttle.reserve(
                session, f"member:{login}", "192.0.2.1", now=when, policy=policy
            )
            return verdict.allowed

    assert await allowed_at(0, "a")
    assert await allowed_at(59, "b")
    assert await allowed_at(120, "c")  # an hour without failures in between: counting restarts
    assert await allowed_at(150, "d")
    assert await allowed_at(180, "e")  # the third in a row: the network waits an hour
    assert not await allowed_at(181, "f")
    assert await allowed_at(241, "g")


async def test_a_trusted_device_is_not_held_back_by_its_network(database_url: str) -> None:
    policy = throttle.Policy.from_settings(Settings(env="development", throttle_address_failures=1))
    device = throttle.device_key("member", Device(1, "abc"))
    async with unit_of_work(database_url) as session:
        await throttle.reserve(session, "member:x", "192.0.2.1", now=NOW, policy=policy)
        blocked, _ = await throttle.reserve(
            session, "member:y", "192.0.2.1", now=NOW, policy=policy
        )
        trusted, _ = await throttle.reserve(session, device, None, now=NOW, policy=policy)
    assert not blocked.allowed and trusted.allowed


async def test_an_attempt_the_network_refuses_counts_nothing_against_the_name(
    database_url: str,
) -> None:
    policy = throttle.Policy.from_settings(Settings(env="development", throttle_address_failures=1))
    async with unit_of_work(database_url) as session:
        await throttle.reserve(session, "member:x", "192.0.2.1", now=NOW, policy=policy)
        for _ in range(10):  # the network waits an hour: refused before the name is counted
            refused, _ = await throttle.reserve(
                session, "member:ada", "192.0.2.1", now=NOW, policy=policy
            )
            assert not refused.allowed
        counted = await session.exec(
            text("SELECT count(*) FROM sign_in_throttle WHERE subject = 'member:ada'")
        )
        assert counted.one()[0] == 0


def test_one_ipv6_subscriber_is_one_network() -> None:
    assert rate_limits.client_network("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert rate_limits.client_network("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert rate_limits.client_network("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert rate_limits.client_network("::ffff:192.0.2.7") == "192.0.2.7"
    assert rate_limits.client_network("192.0.2.7") == "192.0.2.7"
    assert rate_limits.client_network(None) == "unknown"


async def test_rate_windows_count_per_minute(database_url: str) -> None:
    async with unit_of_work(database_url) as session:
        hits = [await rate_limits.hit(session, "vendor:a", now=NOW) for _ in range(3)]
        later = await rate_limits.hit(session, "vendor:a", now=NOW + timedelta(minutes=1))
    assert hits == [1, 2, 3]
    assert later == 1


async def test_an_attempt_the_name_refuses_counts_nothing_against_the_network(
    database_url: str,
) -> None:
    """The network's count is taken first, in the same statement; when the name then refuses,
    the network gets its attempt back, so hammering one waiting name does not shut out the
    rest of an office's sign-ins."""
    policy = throttle.Policy.from_settings(Settings(env="development", throttle_address_failures=7))
    async with unit_of_work(database_url) as session:
        for _ in range(5):  # the name's free failures: it waits from now on
            allowed, _ = await throttle.reserve(
                session, "member:ada", "192.0.2.1", now=NOW, policy=policy
            )
            assert allowed.allowed
        for _ in range(10):
            refused, _ = await throttle.reserve(
                session, "member:ada", "192.0.2.1", now=NOW, policy=policy
            )
            assert not refused.allowed and refused.retry_after == 31
        counted = await session.exec(
            text("SELECT consecutive_failures FROM sign_in_throttle WHERE scope = 'address'")
        )
        assert counted.one()[0] == 5
        colleague, _ = await throttle.reserve(
            session, "member:grace", "192.0.2.1", now=NOW, policy=policy
        )
    assert colleague.allowed
