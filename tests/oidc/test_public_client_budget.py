"""A public client's budget through a real server: its client_id is no secret, so calls in its
name spend its vendor's budget only once their code validated — junk spends the sender's
network's — and a validated call over the budget leaves its code unused, for the next minute.
Parallel exchanges: exactly the budget's worth go through (one atomic count in Postgres)."""

import asyncio
from collections import Counter
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.crypto import digest
from portal.models import RateCounter
from portal.settings import Settings
from tests.conftest import FakeClock
from tests.flows import unit_of_work
from tests.oidc.live_flows import on_the_tests_clock, query_of, sign_in_for
from tests.oidc.oidc_flows import (
    Pkce,
    add_oidc_vendor,
    audit_events,
    authorize_query,
    token_form,
)

pytestmark = pytest.mark.usefixtures("ada")
JUNK = 200
# Eight requests in flight at a time: the junk is many, not a test of the connection pool.
LIMITS = httpx.Limits(max_connections=8)


async def codes(browser: httpx.AsyncClient, count: int) -> list[tuple[str, Pkce]]:
    """`count` codes for the public client, from the signed-in browser."""
    found = []
    for _ in range(count):
        pkce = Pkce.new()
        back = await sign_in_for(browser, "/oidc/authorize?" + urlencode(authorize_query(pkce)))
        found.append((query_of(back)["code"], pkce))
    return found


async def exchange(browser: httpx.AsyncClient, code: str, pkce: Pkce) -> httpx.Response:
    return await browser.post("/oidc/token", data=token_form(code, pkce, client_id="learn"))


async def test_junk_in_a_public_clients_name_does_not_stop_the_real_sign_in(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    await add_oidc_vendor(database_url, public_client=True)
    with on_the_tests_clock(settings, clock, api_rate_per_minute=50) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=LIMITS) as browser:
            [(code, pkce)] = await codes(browser, 1)
            junk = {**token_form("x" * 43, pkce, client_id="learn")}
            answers = await asyncio.gather(
                *(browser.post("/oidc/token", data=junk) for _ in range(JUNK))
            )
            # 30 failures a minute per network (PORTAL_API_FAILED_AUTH_PER_MINUTE), then 429s
            assert Counter(a.status_code for a in answers) == {400: 30, 429: JUNK - 30}
            real = await exchange(browser, code, pkce)
            assert real.status_code == 200, real.text
    limited = await audit_events(database_url, "api.rate_limited")
    assert [(e.vendor_key, e.details["bucket"]) for e in limited] == [(None, "oidc-auth-failure")]
    assert len(await audit_events(database_url, "oidc.token_rejected")) == 20  # then capped


async def test_parallel_exchanges_over_the_budget_leave_their_codes_unused(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    await add_oidc_vendor(database_url, public_client=True)
    clock.advance(seconds=30)  # codes live 60 s: still good once the next minute has begun
    with on_the_tests_clock(settings, clock, api_rate_per_minute=5) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=LIMITS) as browser:
            issued = await codes(browser, 12)
            answers = await asyncio.gather(*(exchange(browser, *each) for each in issued))
            assert Counter(a.status_code for a in answers) == {200: 5, 429: 7}
            refused = [
                each for each, a in zip(issued, answers, strict=True) if a.status_code == 429
            ]
            body = answers[[a.status_code for a in answers].index(429)]
            assert body.json()["error"] == "temporarily_unavailable"
            assert 1 <= int(body.headers["Retry-After"]) <= 60
            clock.advance(seconds=31)
            again = await asyncio.gather(*(exchange(browser, *each) for each in refused[:5]))
            assert [a.status_code for a in again] == [200] * 5
    limited = await audit_events(database_url, "api.rate_limited")
    assert [(e.vendor_key, e.details["bucket"]) for e in limited] == [("learn", "vendor")]


async def test_a_public_client_waiting_for_a_code_that_turns_out_used_spends_nothing(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    """The exchange counts a public client's call in the statement that uses its code, with the
    code's row locked first: a presentation that waited on another's use finds the code used
    and spends nothing of the vendor's budget (its network's, as a failure). Fails with the
    lock (token_exchange.REDEEM's FOR UPDATE) removed: it counts from its snapshot."""
    await add_oidc_vendor(database_url, public_client=True)
    with on_the_tests_clock(settings, clock) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=LIMITS) as browser:
            [(code, pkce)] = await codes(browser, 1)
            code_hash = {"code_hash": digest(code)}
            async with unit_of_work(database_url) as other:  # another presentation, using it
                await other.exec(text(LOCK).bindparams(**code_hash))  # type: ignore[call-overload]
                pending = asyncio.create_task(exchange(browser, code, pkce))
                await until_one_waits(other)
                await other.exec(text(USE).bindparams(**code_hash))  # type: ignore[call-overload]
            answer = await pending
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    async with unit_of_work(database_url) as session:
        spent = await session.exec(select(RateCounter).where(RateCounter.bucket == "vendor:learn"))
        assert spent.all() == []
    assert [e.details["reason"] for e in await audit_events(database_url, "oidc.code_replay")] == [
        "replay"
    ]


LOCK = "SELECT id FROM oidc_grant WHERE code_hash = :code_hash FOR UPDATE"
USE = "UPDATE oidc_grant SET code_redeemed_at = now() WHERE code_hash = :code_hash"
WAITING = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def until_one_waits(session: AsyncSession) -> None:
    """Until a statement of the portal's waits for a lock (at most 30 s)."""
    for _ in range(600):
        if (await session.exec(text(WAITING))).scalar_one():  # type: ignore[call-overload]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no statement waited for the code's row")
