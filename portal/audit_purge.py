"""`portal audit purge`: delete the oldest part of the audit log and keep it verifiable.

Only a prefix of the chain goes (in seal order): the sealed events older than the cutoff, up to
the first one that is not, with their seals. The last link removed becomes the checkpoint the
rest of the chain is verified from, and the purge is itself an audited (and sealed) event."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, insert, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, audit_chain
from portal.audit_chain import EVENTS, SEALS, Link
from portal.audit_models import AuditCheckpoint
from portal.errors import PortalError

CHECKPOINTS: Table = AuditCheckpoint.__table__  # type: ignore[attr-defined]
# The log is evidence: a slip of the finger (4d for 400d) must not erase recent history. Three
# months is the least that common audit standards keep at hand (PCI DSS 10.5.1).
MIN_AGE = timedelta(days=90)


@dataclass(frozen=True)
class Purged:
    cutoff: datetime
    events: int
    checkpoint: Link


async def purge(db: AsyncSession, *, older_than: timedelta, now: datetime) -> Purged:
    """Refuses a chain that does not verify: purging it would destroy the evidence and leave a
    checkpoint that makes the rest look intact."""
    if older_than < MIN_AGE:
        raise PortalError(f"the audit log keeps at least {MIN_AGE.days} days")
    report = await audit_chain.verify(db, now=now)  # also takes the chain lock until commit
    if not report.ok:
        raise PortalError(f"the audit log does not verify ({report.problem}); nothing was purged")
    cutoff = now - older_than
    start = await audit_chain.checkpoint(db)
    end = await _last_link_before(db, cutoff, start)
    events = await _cut(db, end, cutoff=cutoff, now=now) if end != start else 0
    await audit.record(
        db,
        "audit.purged",
        via="cli",
        cutoff=cutoff.isoformat(),
        events=events,
        checkpoint_seq=end.seq,
        checkpoint_hash=end.hash,
    )
    return Purged(cutoff, events, end)


async def _last_link_before(db: AsyncSession, cutoff: datetime, start: Link) -> Link:
    """The last link of the longest prefix of the chain whose events all occurred before
    `cutoff` (found by walking the chain from its start, so it costs what is purged)."""
    joined = SEALS.join(EVENTS, EVENTS.c.id == SEALS.c.event_id)
    kept = select(SEALS.c.seq).select_from(joined).where(EVENTS.c.occurred_at >= cutoff)
    first_kept = (await db.exec(kept.order_by(SEALS.c.seq).limit(1))).first()
    end = first_kept - 1 if first_kept is not None else (await audit_chain.head(db)).seq
    if end <= start.seq:
        return start
    query = select(SEALS.c.seq, SEALS.c.event_id, SEALS.c.hash).where(SEALS.c.seq == end)
    return Link(*(await db.exec(query)).one())


async def _cut(db: AsyncSession, end: Link, *, cutoff: datetime, now: datetime) -> int:
    # The append-only trigger lets a DELETE through only in a transaction that says it purges:
    # that keeps honest code from erasing evidence. It is no barrier to someone who can run SQL
    # as the portal (they could disable the trigger); the chain and checkpoint detect them.
    await db.exec(text("SET LOCAL portal.audit_purge = 'on'"))  # type: ignore[call-overload]
    purged_ids = select(SEALS.c.event_id).where(SEALS.c.seq <= end.seq)
    deleted = await db.exec(delete(EVENTS).where(EVENTS.c.id.in_(purged_ids)))
    await db.exec(delete(SEALS).where(SEALS.c.seq <= end.seq))
    await db.exec(delete(CHECKPOINTS))
    await db.exec(
        insert(CHECKPOINTS).values(
            id=1,
            seq=end.seq,
            event_id=end.event_id,
            hash=end.hash,
            purged_before=cutoff,
            purged_at=now,
        )
    )
    await db.exec(text("SET LOCAL portal.audit_purge = 'off'"))  # type: ignore[call-overload]
    return int(deleted.rowcount)
