"""Claiming, retrying and settling outbox rows, whatever their kind.

Safe with any number of worker processes: a row is claimed with FOR UPDATE SKIP LOCKED and a
lease in one statement, so two workers never send it at once, and one that dies mid-delivery (a
restart, a crash) loses it when the lease ends; another sends it then. A claim counts an
attempt, and only the worker holding the latest attempt may settle the row (a conditional UPDATE
on the attempt it claimed): a worker whose lease ran out while it was sending must not clear the
next holder's lease, nor record its own outcome over the next one's. Each row is settled as
soon as its own send ends, and each send is cut off at half the lease, so a live worker settles
what it sent while it still holds it. So delivery is at least once — a worker that died after
sending but before settling means a second send.

One retry policy: a failure that may pass (a server down, a timeout) is tried again after a
pause that doubles from the kind's first pause up to its longest; a row is sent within its
kind's window after it was written, or never — a try that would fall after the window, or a
row first claimed after it (written while no worker ran), is given up and the kind audits it."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.clock import Clock
from portal.errors import one_line

log = logging.getLogger(__name__)
Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]  # one committed transaction
Letter = TypeVar("Letter")

# The due rows of one kind nobody holds, each leased to the caller with one more attempt counted.
CLAIM = """
UPDATE outbox o
SET leased_until = :now + make_interval(secs => :lease), attempts = o.attempts + 1
FROM (
    SELECT id FROM outbox
    WHERE kind = :kind AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= :now
      AND (leased_until IS NULL OR leased_until <= :now)
    ORDER BY next_attempt_at, id LIMIT :batch FOR UPDATE SKIP LOCKED
) due
WHERE o.id = due.id
RETURNING o.id, o.attempts, o.created_at, o.payload, o.session_id, o.vendor_id
"""
# The outcome, recorded only by the worker holding the latest attempt (`attempts = :attempts`).
SETTLE = """
UPDATE outbox
SET delivered_at = :delivered_at, failed_at = :failed_at, next_attempt_at = :next_attempt_at,
    leased_until = NULL, last_status = :status, last_error = :error,
    payload = payload - CAST(:spent AS text[])
WHERE id = :id AND attempts = :attempts AND delivered_at IS NULL AND failed_at IS NULL
RETURNING id
"""


@dataclass(frozen=True)
class Claimed:
    """A row as its worker holds it: `attempts` is the attempt it holds."""

    id: int
    attempts: int
    created_at: datetime
    payload: dict[str, Any] = field(repr=False)  # mail's carries a link: never in a traceback
    session_id: int | None
    vendor_id: int | None


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: delivered when `error` is None."""

    error: str | None = None  # what went wrong, in plain words for staff
    status: int | None = None  # the far end's answer, where it has a number (HTTP)
    retry: bool = True  # whether trying again may help
    reason: str | None = None  # for the audit log, if it is given up (a kind may default it)

    @property
    def delivered(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Retry:
    first_pause: timedelta
    longest_pause: timedelta
    window: timedelta  # sent within this time after it was written, or never
    lease: timedelta  # a send is cut off at half of it, so a live worker keeps its claim

    def pause_after(self, attempts: int) -> timedelta:
        pause: timedelta = self.first_pause * 2 ** min(max(attempts - 1, 0), 20)
        return min(pause, self.longest_pause)

    def too_late(self, row: Claimed, now: datetime) -> bool:
        return now > row.created_at + self.window

    def gives_up(self, row: Claimed, outcome: Outcome, now: datetime) -> bool:
        if outcome.delivered:
            return False
        next_try = now + self.pause_after(row.attempts)
        return not outcome.retry or next_try > row.created_at + self.window


@dataclass(frozen=True)
class Kind(Generic[Letter]):
    """What one kind of row brings: how to read a claimed row into what it sends (`prepare`,
    in the claiming transaction), how to send it (no database connection held), what to audit
    once its outcome is final (`finished`, in the settling transaction, from the row alone: a
    row may end without being prepared), and how many it sends at once (`parallel`)."""

    name: str
    retry: Retry
    prepare: Callable[[AsyncSession, Claimed, datetime], Awaitable[Letter]]
    send: Callable[[Letter], Awaitable[Outcome]]
    finished: Callable[[AsyncSession, Claimed, Outcome], Awaitable[None]]
    written: str  # when its window starts, for staff: "the sign-out"
    spent: Sequence[str] = ()  # payload keys dropped once settled
    parallel: int = 20  # rows one worker claims, and sends side by side, in one round


def units(sessions: async_sessionmaker[AsyncSession]) -> Unit:
    @asynccontextmanager
    async def unit() -> AsyncIterator[AsyncSession]:
        async with sessions() as db, db.begin():
            yield db

    return unit


async def claim(
    db: AsyncSession, kind: Kind[Any], *, now: datetime, batch: int | None = None
) -> list[Claimed]:
    params = {"kind": kind.name, "now": now, "lease": kind.retry.lease.total_seconds()}
    query = text(CLAIM).bindparams(**params, batch=batch or kind.parallel)
    return [Claimed(**row._mapping) for row in await db.exec(query)]  # type: ignore[call-overload]


async def settle(
    db: AsyncSession, kind: Kind[Any], row: Claimed, outcome: Outcome, *, now: datetime
) -> bool:
    """Record `outcome` if the caller still holds the row's latest attempt; False if not (it
    was claimed again after the caller's lease ran out): then nothing is changed."""
    give_up = kind.retry.gives_up(row, outcome, now)
    final = outcome.delivered or give_up
    values = {
        "id": row.id,
        "attempts": row.attempts,
        "delivered_at": now if outcome.delivered else None,
        "failed_at": now if give_up else None,
        "next_attempt_at": now + kind.retry.pause_after(row.attempts),
        "status": outcome.status,
        "error": outcome.error[:300] if outcome.error else None,
        "spent": list(kind.spent) if final else [],
    }
    held = (await db.exec(text(SETTLE).bindparams(**values))).first()  # type: ignore[call-overload]
    if held is not None and final:
        await kind.finished(db, row, outcome)
    return held is not None


async def ready(
    db: AsyncSession, kind: Kind[Letter], row: Claimed, now: datetime
) -> Letter | Outcome:
    """What to send for a claimed row, or the outcome that ends its attempt here: too late
    (checked first: a row past its window is not even prepared), or a prepare that raised.
    Each row is prepared under a savepoint, so one that fails keeps the batch's claim: its
    attempt counts, and the window gives it up in time instead of it blocking the queue."""
    if kind.retry.too_late(row, now):  # claimed after its window: not sent at all
        minutes = int(kind.retry.window.total_seconds() // 60)
        error = f"not sent: the portal could not send it within {minutes} minutes of {kind.written}"
        return Outcome(error, retry=False, reason="too_late")
    try:
        async with db.begin_nested():
            return await kind.prepare(db, row, now)
    except Exception as exc:  # any failure is this row's, recorded as its attempt
        log.warning("outbox %s %s not prepared: %s", kind.name, row.id, one_line(exc))
        return Outcome(f"could not prepare it: {one_line(exc)}")


async def send(kind: Kind[Letter], row: Claimed, letter: Letter) -> Outcome:
    """One send, bounded in all by half the lease (aiosmtplib's timeout is per step): a worker
    still sending when its lease ends would see another claim the row and send it again."""
    seconds = kind.retry.lease.total_seconds() / 2
    try:
        async with asyncio.timeout(seconds):
            return await kind.send(letter)
    except TimeoutError:
        return Outcome(f"no answer within {seconds:g} seconds")
    except Exception as exc:  # one row's failure, not the batch's
        # one_line(exc) only: never the payload, which may carry a link.
        log.warning("outbox %s %s not sent: %s", kind.name, row.id, one_line(exc))
        return Outcome(one_line(exc))


async def deliver_one(
    unit: Unit, clock: Clock, kind: Kind[Letter], row: Claimed, letter: Letter | Outcome
) -> None:
    """Send one row and settle it at once, in its own short transaction: a row settled only when
    its batch ends stays leased while the slowest send goes on, and is sent again if its lease
    runs out or the worker dies meanwhile."""
    outcome = letter if isinstance(letter, Outcome) else await send(kind, row, letter)
    async with unit() as db:
        await settle(db, kind, row, outcome, now=clock())


async def deliver_due(unit: Unit, clock: Clock, kind: Kind[Any]) -> int:
    """One round: claim what is due (at most `kind.parallel` rows, all sent at once, so none
    waits for a turn while its lease runs), send each with no database connection held, and
    settle each as its send ends. Returns how many were claimed."""
    async with unit() as db:
        now = clock()
        rows = await claim(db, kind, now=now)
        letters = [await ready(db, kind, row, now) for row in rows]
    results = await asyncio.gather(
        *(
            deliver_one(unit, clock, kind, row, letter)
            for row, letter in zip(rows, letters, strict=True)
        ),
        return_exceptions=True,
    )
    # Settling failed (the database is down, say): every other row was still settled first.
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return len(rows)
