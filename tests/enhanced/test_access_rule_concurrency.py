"""Staff changing a vendor's access rule while a member's browser keeps asking for tokens, through
a real server with two worker processes: the rule is read in the statement that issues
(enhanced/tokens.py ISSUE), so from the moment the change commits no token is issued under the
old rule — not to a request that started after it, nor by a statement that began after it (a
rule read first and a token written later would be that: the race the statement rules out) —
and every token handed out is one token.issued event."""

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.flows import (
    PASSWORD,
    Inputs,
    add_member,
    add_vendor,
    csrf_of,
    engine_of_the_test,
    live_portal,
    unit_of_work,
)

BROWSER_TABS = 12  # requests in flight at once
EACH_SIDE = 2 * BROWSER_TABS  # answers before the change commits, and requests started after
MOST_REQUESTS = 1000
SECONDS = 120  # for the whole run, on a busy machine


@dataclass(frozen=True)
class Answer:
    started: float  # time.monotonic() as the request was sent
    status: int
    token: str | None


@dataclass(frozen=True)
class Change:
    committed: float  # time.monotonic() once the commit returned
    committed_at: datetime  # the database's clock then


@dataclass
class Run:
    """The tabs' answers, and when enough are in: before the change (the requests under way),
    and after it (enough requests started once it committed)."""

    answers: list[Answer] = field(default_factory=list)
    committed: float | None = None
    under_way: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, answer: Answer) -> None:
        self.answers.append(answer)
        if len(self.answers) >= EACH_SIDE:
            self.under_way.set()
        started_after = (
            sum(a.started > self.committed for a in self.answers) if self.committed else 0
        )
        if started_after >= EACH_SIDE or len(self.answers) >= MOST_REQUESTS:
            self.done.set()


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, workers=2) as url:
        yield url


async def signed_in(url: str) -> httpx.AsyncClient:
    member = httpx.AsyncClient(base_url=url, timeout=30)
    form = {"csrf_token": csrf_of((await member.get("/sign-in")).text)}
    answer = await member.post("/sign-in", data={**form, "username": "ada", "password": PASSWORD})
    assert answer.status_code == 303 and member.cookies
    return member


async def tab(member: httpx.AsyncClient, run: Run) -> None:
    """One tab of the browser, asking for a token again and again (a silent re-issue)."""
    while not run.done.is_set():
        started = time.monotonic()
        answer = await member.get("/sso/signin", params={"vendor": "acme"})
        token = Inputs(answer.text).hidden.get("token") if answer.status_code == 200 else None
        run.add(Answer(started, answer.status_code, token))


async def staff_change_the_rule(database_url: str, member_types: list[str], run: Run) -> Change:
    """With the tabs' requests under way, the rule saved as staff save it: an UPDATE of the
    vendor row in a transaction of its own; then the time on both clocks, read at once on the
    same connection (the database's: no statement that began later can see the rule before)."""
    await run.under_way.wait()
    async with engine_of_the_test(database_url).connect() as conn:
        async with conn.begin():
            await conn.execute(
                text("UPDATE vendor SET access_member_types = :types WHERE key = 'acme'"),
                {"types": member_types},
            )
        run.committed = time.monotonic()
        committed_at = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()
    return Change(run.committed, committed_at)


async def count(database_url: str, query: str, **values: object) -> int:
    async with unit_of_work(database_url) as session:
        return int((await session.execute(text(query), values)).scalar_one())


async def test_no_token_is_issued_under_a_rule_once_staff_changed_it(
    two_workers: str, database_url: str
) -> None:
    await add_member(database_url)  # REG, in good standing
    await add_vendor(database_url)
    member = await signed_in(two_workers)
    run = Run()
    changing = asyncio.create_task(staff_change_the_rule(database_url, ["STU"], run))
    try:
        tabs = (tab(member, run) for _ in range(BROWSER_TABS))
        await asyncio.wait_for(asyncio.gather(changing, *tabs), timeout=SECONDS)
    finally:
        await member.aclose()
    change = changing.result()
    answers = run.answers

    assert all(answer.status in (200, 403) for answer in answers), {a.status for a in answers}
    after = [answer for answer in answers if answer.started > change.committed]
    assert after, "no request started after the change: the test proved nothing"
    assert [a for a in after if a.status != 403 or a.token is not None] == []
    handed_out = [answer.token for answer in answers if answer.token is not None]
    assert handed_out, "no token before the change: the test proved nothing"
    assert len(set(handed_out)) == len(handed_out)
    issued = "SELECT count(*) FROM audit_event WHERE event = 'token.issued'"
    assert await count(database_url, issued) == len(handed_out)
    assert await count(database_url, "SELECT count(*) FROM sso_token") == len(handed_out)
    # A statement's now() is when it began: none that began after the commit issued a token.
    late = issued + " AND occurred_at > :committed_at"
    assert await count(database_url, late, committed_at=change.committed_at) == 0
    refused = "SELECT count(*) FROM audit_event WHERE event = 'access.refused'"
    assert await count(database_url, refused) == sum(a.status == 403 for a in answers)
