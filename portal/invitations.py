"""Inviting many members at once (the dashboard's "Invite members"): who is waiting for an
invitation, narrowed by staff, how many that is, the invitations themselves (each one
`recovery.invite`), and how far a batch of them has got in the outbox.

Members carry no import batch id: "imported on" narrows by the day (UTC) a member's row was
created, which is the day a CSV import added them (audited as member.imported)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, cast, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import recovery
from portal.errors import InvalidField
from portal.mail import sending
from portal.models import Member
from portal.outbox.models import OutboxItem

BATCH = 200  # one transaction's worth: a bounded write; the next press sends more


@dataclass(frozen=True)
class Narrowing:
    """Staff's choice of whom to invite; an empty field does not narrow."""

    member_type: str = ""
    status: str = ""  # iMIS's member_status code, as stored
    imported_on: date | None = None

    @classmethod
    def read(cls, values: dict[str, str]) -> "Narrowing":
        day = values.get("imported_on", "").strip()
        try:
            imported_on = date.fromisoformat(day) if day else None
        except ValueError:
            raise InvalidField(
                "imported_on", "the import date is not a date (YYYY-MM-DD)"
            ) from None
        return cls(
            member_type=values.get("member_type", "").strip()[:64],
            status=values.get("status", "").strip()[:32],
            imported_on=imported_on,
        )

    def query(self) -> dict[str, str]:
        """The choice as a query string's values (the page's links and hidden fields)."""
        day = self.imported_on.isoformat() if self.imported_on else ""
        return {"member_type": self.member_type, "status": self.status, "imported_on": day}

    def conditions(self) -> list[ColumnElement[bool]]:
        """Local, enabled members with an email, no password and no invitation yet — only they
        can use one — narrowed by staff's choice."""
        where = [
            col(Member.source) == "local", col(Member.enabled).is_(True),
            col(Member.email).is_not(None), col(Member.password_hash).is_(None),
            col(Member.invited_at).is_(None),
        ]  # fmt: skip
        if self.member_type:
            where.append(col(Member.member_type) == self.member_type)
        if self.status:
            where.append(col(Member.member_status) == self.status)
        if self.imported_on:
            start = datetime.combine(self.imported_on, time(), UTC)
            where.append(col(Member.created_at) >= start)
            where.append(col(Member.created_at) < start + timedelta(days=1))
        return where


async def waiting(db: AsyncSession, narrowing: Narrowing) -> int:
    """How many members the choice would invite (over as many presses as it takes)."""
    return int((await db.exec(select(func.count()).where(*narrowing.conditions()))).one())


async def choices(db: AsyncSession) -> tuple[list[str], list[str]]:
    """The member types and status codes held by members waiting for an invitation."""
    where = Narrowing().conditions()
    types = await db.exec(
        select(Member.member_type).where(*where, col(Member.member_type).is_not(None)).distinct()
    )
    statuses = await db.exec(select(Member.member_status).where(*where).distinct())
    return sorted(t for t in types if t), sorted(statuses)


async def invite(
    db: AsyncSession, narrowing: Narrowing, compose: recovery.Compose, *, now: datetime
) -> list[Member]:
    """Invite up to BATCH of the chosen members; their mails are the outbox rows written at
    `now` (progress reads them back by that moment)."""
    query = select(Member).where(*narrowing.conditions()).order_by(col(Member.id)).limit(BATCH)
    batch = list(await db.exec(query.with_for_update(skip_locked=True)))
    for member in batch:
        await recovery.invite(db, member, compose, now=now)
    await db.flush()
    return batch


@dataclass(frozen=True)
class Progress:
    sent: int
    failed: int
    waiting: int

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.waiting


async def progress(db: AsyncSession, at: datetime) -> Progress:
    """How the invitations written at `at` stand in the outbox."""
    query = select(
        func.count().filter(col(OutboxItem.delivered_at).is_not(None)),
        func.count().filter(col(OutboxItem.failed_at).is_not(None)),
        func.count().filter(
            col(OutboxItem.delivered_at).is_(None), col(OutboxItem.failed_at).is_(None)
        ),
    ).where(
        col(OutboxItem.kind) == sending.KIND,
        col(OutboxItem.created_at) == at,
        col(OutboxItem.payload).contains(cast({"purpose": "invitation"}, JSONB)),
    )
    sent, failed, pending = (await db.exec(query)).one()
    return Progress(sent=int(sent), failed=int(failed), waiting=int(pending))
