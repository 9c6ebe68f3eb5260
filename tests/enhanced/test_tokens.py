"""Single use under real concurrency: many connections, many worker processes, one Postgres."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from portal.enhanced import tokens
from portal.models import Vendor
from tests.flows import VendorLogin, issue_token, live_portal, raw_connection, unit_of_work

pytestmark = pytest.mark.usefixtures("ada")
ATTEMPTS = 24


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
