"""The outbox: `enqueue` writes a message in the caller's transaction (it is sent only if that
commits); `deliver_due` sends what is due. Any number of worker processes may deliver at once:
a message is claimed with a lease in one atomic statement (FOR UPDATE SKIP LOCKED), so each is
sent by one of them, and a worker that dies mid-send leaves it to be claimed again when the
lease runs out. A failed send is retried with a growing pause, then given up and audited."""

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit
from portal.mail import smtp
from portal.mail.compose import Composed
from portal.models import MailMessage

log = logging.getLogger(__name__)
Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# Longer than a send can take (aiosmtplib's timeout per step), so a live worker keeps its claim.
LEASE = timedelta(minutes=2)
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
MAX_ATTEMPTS = 10  # 1+2+4+…+60 minutes: about four hours of trying before giving up
BATCH = 20


async def enqueue(
    db: AsyncSession, *, purpose: str, recipient: str, composed: Composed, now: datetime
) -> MailMessage:
    row = MailMessage(
        purpose=purpose,
        recipient=recipient,
        subject=composed.subject,
        text_body=composed.text,
        html_body=composed.html,
        created_at=now,
        next_attempt_at=now,
    )
    db.add(row)
    await db.flush()
    return row


def pause_after(attempts: int) -> timedelta:
    """The wait before the next try, doubling from FIRST_PAUSE up to LONGEST_PAUSE."""
    pause: timedelta = FIRST_PAUSE * 2 ** min(max(attempts - 1, 0), 20)
    return min(pause, LONGEST_PAUSE)


def _pending() -> list[ColumnElement[bool]]:
    return [col(MailMessage.sent_at).is_(None), col(MailMessage.failed_at).is_(None)]


async def claim(db: AsyncSession, *, now: datetime, limit: int = BATCH) -> list[MailMessage]:
    """Due messages nobody holds, now held by the caller until now + LEASE (one statement)."""
    due = (
        select(MailMessage.id)
        .where(
            *_pending(),
            col(MailMessage.next_attempt_at) <= now,
            or_(col(MailMessage.lease_until).is_(None), col(MailMessage.lease_until) <= now),
        )
        .order_by(col(MailMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = (
        update(MailMessage)
        .where(col(MailMessage.id).in_(due.scalar_subquery()))
        .values(lease_until=now + LEASE, attempts=MailMessage.attempts + 1)
        .returning(MailMessage)
    )
    rows = (await db.exec(claimed)).scalars().all()
    return sorted(rows, key=lambda row: row.id)


async def mark_sent(db: AsyncSession, message_id: int, *, now: datetime) -> None:
    await db.exec(
        update(MailMessage)
        .where(col(MailMessage.id) == message_id, *_pending())
        .values(sent_at=now, lease_until=None, text_body="", html_body="", last_error=None)
    )


async def mark_failed_attempt(
    db: AsyncSession, row: MailMessage, error: str, *, now: datetime
) -> None:
    """Try again later, or give up after MAX_ATTEMPTS: the bodies (and their links) go, and
    staff see it in the audit log and on the overview."""
    if row.attempts < MAX_ATTEMPTS:
        await db.exec(
            update(MailMessage)
            .where(col(MailMessage.id) == row.id, *_pending())
            .values(
                next_attempt_at=now + pause_after(row.attempts),
                lease_until=None,
                last_error=error[:300],
            )
        )
        return
    await db.exec(
        update(MailMessage)
        .where(col(MailMessage.id) == row.id, *_pending())
        .values(failed_at=now, lease_until=None, text_body="", html_body="", last_error=error[:300])
    )
    await audit.record(
        db, "mail.failed", "failure", reason="smtp_failed", email=row.recipient,
        purpose=row.purpose, attempts=row.attempts, cause=error[:200],
    )  # fmt: skip


@dataclass(frozen=True)
class Postman:
    """What delivering needs: the server, the sender and the clock."""

    server: smtp.Server
    sender: str
    clock: Callable[[], datetime]


async def deliver_due(unit: Unit, postman: Postman) -> int:
    """One round: claim what is due, send each with no database connection held, settle each.
    Returns how many were sent."""
    async with unit() as db:
        rows = await claim(db, now=postman.clock())
    sent = 0
    for row in rows:
        mail = smtp.message(
            postman.sender, row.recipient, row.subject, row.text_body, row.html_body
        )
        try:
            await smtp.send(postman.server, mail)
        except smtp.SendFailed as exc:
            # The recipient and the reason only: never the message, which carries a link.
            log.warning("mail %s to %s not sent (attempt %s): %s", row.id, row.recipient,
                        row.attempts, exc)  # fmt: skip
            async with unit() as db:
                await mark_failed_attempt(db, row, str(exc), now=postman.clock())
            continue
        async with unit() as db:
            await mark_sent(db, row.id or 0, now=postman.clock())
        sent += 1
    return sent


async def waiting(db: AsyncSession) -> int:
    """Messages not yet sent and not given up."""
    return int((await db.exec(select(func.count()).where(*_pending()))).one())
