"""Single use under real concurrency: many connections, many worker processes, one Postgres."""

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlmodel import select

from portal import session_vendors
from portal.auth import sessions
from portal.auth.models import AuthSession
from portal.crypto import digest
from portal.enhanced import tokens
from portal.good_standing import Terms
from portal.models import Member, SessionVendor, Vendor, id_of
from tests.flows import VendorLogin, issue_token, live_portal, raw_connection, unit_of_work

pytestmark = pytest.mark.usefixtures("ada")
ATTEMPTS = 24
HOUR = timedelta(hours=1)


async def test_concurrent_redemptions_on_many_connections_succeed_once(
    database_url: str, acme: VendorLogin
) -> None:
    raw = await issue_token(database_url)

    async def attempt() -> bool:
        async with unit_of_work(database_url) as session:
            vendor = (await session.exec(select(Vendor))).one()
            conn = await raw_connection(session)
            redeemed = await tokens.redeem(
                conn, raw, vendor, now=datetime.now(UTC), per_minute=100, client_address=None
            )
            return redeemed.member is not None

    results = await asyncio.gather(*(attempt() for _ in range(ATTEMPTS)))
    assert results.count(True) == 1


@pytest.fixture
def three_workers(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, workers=3) as url:
        yield url


async def test_concurrent_redemptions_across_worker_processes_succeed_once(
    database_url: str, acme: VendorLogin, three_workers: str
) -> None:
    raw = await issue_token(database_url)
    limits = httpx.Limits(max_connections=ATTEMPTS)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    f"{three_workers}/api/sso/user",
                    data={"token": raw},
                    auth=(acme.key, acme.secret),
                )
                for _ in range(ATTEMPTS)
            )
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * (ATTEMPTS - 1)
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_token"}


async def open_member_session(database_url: str, now: datetime) -> tuple[Vendor, SimpleNamespace]:
    """The only vendor, and a portal session of the only member as the silent re-issue reads it
    (a plain record: its id and member)."""
    async with unit_of_work(database_url) as session:
        member = (await session.exec(select(Member))).one()
        vendor = (await session.exec(select(Vendor))).one()
        portal_session = AuthSession(
            id_hash=digest(os.urandom(8).hex()), member_id=member.id, expires_at=now + HOUR
        )
        session.add(portal_session)
        await session.flush()
        return vendor, SimpleNamespace(id=id_of(portal_session), member_id=member.id)


async def test_a_token_issued_as_its_session_ends_is_never_redeemed(
    database_url: str, acme: VendorLogin
) -> None:
    """The race a silent re-issue can lose: it read the session as live, the member's sign-out
    ended it (voiding the session's tokens), then the token was written. The vendor must not get
    the member of a session that has ended."""
    now = datetime.now(UTC)
    vendor, stale = await open_member_session(database_url, now)
    async with unit_of_work(database_url) as session:
        ended = await session.get(AuthSession, stale.id)
        assert ended is not None and await sessions.end(
            session, ended, now=now, reason="signed_out"
        )
    async with unit_of_work(database_url) as session:
        conn = await raw_connection(session)
        raw = await tokens.issue(
            conn, vendor, stale, now=now, ttl=HOUR, terms=Terms(now.date()), client_address=None
        )
        assert raw is not None
        redeemed = await tokens.redeem(
            conn, raw, vendor, now=now, per_minute=100, client_address=None
        )
        assert redeemed.member is None and not redeemed.won
        assert await tokens.why_not(session, raw, vendor, now=now) == "voided"


async def test_visits_recorded_out_of_order_never_move_the_last_visit_back(
    database_url: str, acme: VendorLogin
) -> None:
    """Two requests of one session at once (two tabs) may commit in either order; neither fails
    and the session's record of the vendor keeps the later visit — through either front end's
    write (the Enhanced token's statement, and session_vendors.record)."""
    now = datetime.now(UTC)
    earlier = now - timedelta(milliseconds=3)
    vendor, ref = await open_member_session(database_url, now)
    async with unit_of_work(database_url) as session:
        conn = await raw_connection(session)
        for at in (now, earlier):
            await tokens.issue(
                conn, vendor, ref, now=at, ttl=HOUR, terms=Terms(at.date()), client_address=None
            )
        for at in (now, earlier):
            await session_vendors.record(session, ref.id, id_of(vendor), "oidc", now=at)
        rows = (await session.exec(select(SessionVendor))).all()
    assert {(row.front_end, row.last_at) for row in rows} == {("enhanced", now), ("oidc", now)}
