"""The outbox's queue on its own, through real connections to Postgres: workers claiming at the
same moment never get the same row, nor wait for each other; a kind claims only its own rows."""

import asyncio
from collections import Counter

from portal.mail import sending, smtp
from portal.mail.compose import Composed
from portal.outbox import queue
from tests.conftest import FakeClock
from tests.flows import unit_of_work

WORKERS = 4
MESSAGES = 30


async def enqueue(database_url: str, clock: FakeClock, n: int) -> None:
    async with unit_of_work(database_url) as db:
        for i in range(n):
            composed = Composed(f"Message {i}", "text\n", "<p>html</p>")
            await sending.enqueue(
                db, purpose="invitation", recipient=f"m{i}@example.org", composed=composed,
                now=clock(),
            )  # fmt: skip


async def test_workers_claiming_at_once_never_get_the_same_row(
    database_url: str, clock: FakeClock
) -> None:
    await enqueue(database_url, clock, MESSAGES)
    kind = sending.kind(smtp.Server.from_url("smtp://127.0.0.1:25"), "p@example.org")
    claimed: list[int] = []

    async def worker(together: asyncio.Barrier) -> int:
        # Each on its own connection, each holding its claiming transaction open until all
        # have claimed: a claim that waited for another's locks would never reach the barrier.
        async with unit_of_work(database_url) as db:
            rows = await queue.claim(db, kind, now=clock(), batch=5)
            await together.wait()
        claimed.extend(row.id for row in rows)
        return len(rows)

    while True:
        together = asyncio.Barrier(WORKERS)
        counts = await asyncio.wait_for(
            asyncio.gather(*(worker(together) for _ in range(WORKERS))), timeout=30
        )
        if sum(counts) == 0:
            break
    assert len(claimed) == MESSAGES
    assert Counter(claimed).most_common(1)[0][1] == 1, "a row was claimed twice"


async def test_a_kind_claims_only_its_own_rows(database_url: str, clock: FakeClock) -> None:
    await enqueue(database_url, clock, 2)
    mail = sending.kind(smtp.Server.from_url("smtp://127.0.0.1:25"), "p@example.org")
    other = queue.Kind(
        "soap_logout", mail.retry, mail.prepare, mail.send, mail.finished, written="the sign-out"
    )
    async with unit_of_work(database_url) as db:
        assert await queue.claim(db, other, now=clock()) == []
        assert len(await queue.claim(db, mail, now=clock())) == 2
