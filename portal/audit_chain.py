"""The audit log's hash chain: tamper evidence without slowing a request.

Requests append to audit_event as before (no lock, no extra statement). A sealer, one at a time
across every worker, chains the committed events not yet sealed into audit_seal in id order:
hash = sha256(previous hash + the event's canonical content). `verify` walks the chain and names
the first event altered, removed or inserted; `purge` (audit_purge.py) cuts off an old prefix
and leaves a checkpoint the rest is verified from."""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, Text, cast, exists, func, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import locks
from portal.audit_models import AuditCheckpoint, AuditEvent, AuditSeal, AuditVerification

EVENTS: Table = AuditEvent.__table__  # type: ignore[attr-defined]
SEALS: Table = AuditSeal.__table__  # type: ignore[attr-defined]
GENESIS = "0" * 64
# The sealer looks only at ids above the highest sealed one minus this, so each run is one index
# range scan. An event committed later than this many newer events stays unsealed and is then
# reported as inserted: none of our transactions runs that long.
SEAL_WINDOW = 1000
SEAL_BATCH = 5000  # per run; a backlog (the first run after upgrading) takes a few runs
WALK_BATCH = 1000
# What is hashed, besides the details. Deliberately its own list, not the CSV export's columns:
# the hash input of sealed events must never change with what an export shows.
CONTENT = (
    "id",
    "occurred_at",
    "event",
    "outcome",
    "vendor_key",
    "member_id",
    "username",
    "staff_email",
    "client_address",
)
# Hashed only when set: events from before it existed (migration 0004), and events outside a
# request, hash exactly as they did, so no seal made earlier changes.
WHEN_SET = ("request_id",)


def content_columns() -> list[Any]:
    columns = [EVENTS.c[name] for name in (*CONTENT, *WHEN_SET)]
    return [*columns, cast(EVENTS.c.details, Text).label("details")]


def canonical(event: Mapping[str, Any]) -> bytes:
    """The event as fixed bytes: compact JSON, keys sorted, the time in ISO 8601 UTC, and the
    details as PostgreSQL's own text of the stored JSONB: one text per stored value (decoding to
    Python first would let 1.0 and 1.000000000000000001 hash alike)."""
    content = {name: event[name] for name in CONTENT}
    content |= {name: event[name] for name in WHEN_SET if event.get(name) is not None}
    content["occurred_at"] = event["occurred_at"].astimezone(UTC).isoformat()
    content["details"] = event["details"]
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain(previous: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256(previous.encode() + canonical(event)).hexdigest()


@dataclass(frozen=True)
class Link:
    """A position in the chain: its seq, the event sealed there, and the hash up to it."""

    seq: int
    event_id: int
    hash: str


START = Link(0, 0, GENESIS)


async def checkpoint(db: AsyncSession) -> Link:
    """Where the chain starts: after the last purged link, or at the very beginning."""
    query = select(
        col(AuditCheckpoint.seq), col(AuditCheckpoint.event_id), col(AuditCheckpoint.hash)
    )
    row = (await db.exec(query)).first()
    return Link(*row) if row else START


async def head(db: AsyncSession) -> Link:
    query = select(SEALS.c.seq, SEALS.c.event_id, SEALS.c.hash).order_by(SEALS.c.seq.desc())
    row = (await db.exec(query.limit(1))).first()
    return Link(*row) if row else await checkpoint(db)


async def high_water(db: AsyncSession) -> int:
    """The highest event id ever sealed (one probe of the unique index)."""
    top = (await db.exec(select(func.max(SEALS.c.event_id)))).one()
    return max(top or 0, (await checkpoint(db)).event_id)


async def seal(db: AsyncSession, *, now: datetime, wait: bool = False) -> int | None:
    """Chain the committed events not sealed yet, in id order, at most SEAL_BATCH; how many.
    None when another sealer holds the lock (it does the work). A late commit, with an id below
    some already sealed, is simply sealed now: the chain is in seal order, not id order."""
    if not await locks.take(db, locks.AUDIT_CHAIN, wait=wait):
        return None
    last = await head(db)
    unsealed = ~exists().where(SEALS.c.event_id == EVENTS.c.id)
    floor = await high_water(db) - SEAL_WINDOW
    query = select(*content_columns()).where(EVENTS.c.id > floor, unsealed)
    seals = []
    for event in (await db.exec(query.order_by(EVENTS.c.id).limit(SEAL_BATCH))).mappings():
        last = Link(last.seq + 1, event["id"], chain(last.hash, event))
        seals.append(dict(seq=last.seq, event_id=last.event_id, hash=last.hash, sealed_at=now))
    if seals:
        await db.exec(insert(SEALS), params=seals)
    return len(seals)


async def seal_all(db: AsyncSession, *, now: datetime) -> None:
    """Seal until nothing waits (waiting for the lock): the chain is current for a verify."""
    while await seal(db, now=now, wait=True) == SEAL_BATCH:
        pass


@dataclass(frozen=True)
class Problem:
    """kind: altered, removed or inserted; event_id: where the chain breaks, when known."""

    kind: str
    event_id: int | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Report:
    events: int
    head: Link
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_json(self) -> dict[str, Any]:
        problem = self.problem
        return {
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head.seq,
            "head_hash": self.head.hash,
            "problem": problem and {"kind": problem.kind, "event_id": problem.event_id,
                                    "message": problem.message},
        }  # fmt: skip


async def verify(db: AsyncSession, *, now: datetime) -> Report:
    """Seal what waits, walk the whole chain (constant memory) and record the result. Holds the
    chain lock, so no purge or sealer changes the chain under the walk."""
    await seal_all(db, now=now)
    start = await checkpoint(db)
    events, last, problem = await _walk(db, start)
    problem = (
        problem
        or await _first_unsealed(db)
        or await _lost_head(db, start)
        or await _unexplained_start(db, start)
    )
    report = Report(events, last, problem)
    db.add(
        AuditVerification(
            verified_at=now,
            ok=report.ok,
            events=events,
            head_seq=last.seq,
            head_hash=last.hash,
            problem_kind=problem.kind if problem else None,
            problem_event_id=problem.event_id if problem else None,
            problem=str(problem)[:500] if problem else None,
        )
    )
    await db.flush()
    return report


async def _walk(db: AsyncSession, start: Link) -> tuple[int, Link, Problem | None]:
    """Every link from the start, in seq order, in batches (keyset on seq)."""
    last, events = start, 0
    joined = SEALS.outerjoin(EVENTS, EVENTS.c.id == SEALS.c.event_id)
    columns = (SEALS.c.seq, SEALS.c.event_id.label("sealed_id"), SEALS.c.hash, *content_columns())
    while True:
        query = select(*columns).select_from(joined).where(SEALS.c.seq > last.seq)
        batch = (await db.exec(query.order_by(SEALS.c.seq).limit(WALK_BATCH))).mappings().all()
        if not batch:
            return events, last, None
        for row in batch:
            problem = _check(row, last)
            if problem is not None:
                return events, last, problem
            last, events = Link(row["seq"], row["sealed_id"], row["hash"]), events + 1


def _check(row: Mapping[str, Any], previous: Link) -> Problem | None:
    sealed_id = row["sealed_id"]
    if row["seq"] != previous.seq + 1:
        return Problem(
            "removed",
            None,  # which events were there is lost with their seals
            f"events removed before event {sealed_id}: chain positions "
            f"{previous.seq + 1}-{row['seq'] - 1} are missing",
        )
    if row["id"] is None:
        return Problem("removed", sealed_id, f"event {sealed_id} removed: sealed, now missing")
    if chain(previous.hash, row) != row["hash"]:
        return Problem("altered", sealed_id, f"event {sealed_id} altered: it differs from its seal")
    return None


async def _first_unsealed(db: AsyncSession) -> Problem | None:
    """An event the sealer will never seal (below its window) was not there when its
    neighbours were sealed: it was inserted afterwards."""
    sealed = exists().where(SEALS.c.event_id == EVENTS.c.id)
    limit = await high_water(db) - SEAL_WINDOW
    query = select(EVENTS.c.id).where(EVENTS.c.id <= limit, ~sealed).order_by(EVENTS.c.id)
    found = (await db.exec(query.limit(1))).first()
    if found is None:
        return None
    return Problem(
        "inserted", found, f"event {found} inserted: older than sealed events, not sealed"
    )


async def last_verification(db: AsyncSession, *, ok_only: bool = False) -> AuditVerification | None:
    query = select(AuditVerification).order_by(col(AuditVerification.id).desc()).limit(1)
    if ok_only:
        query = query.where(col(AuditVerification.ok))
    return (await db.exec(query)).first()


async def _lost_head(db: AsyncSession, start: Link) -> Problem | None:
    """The head that the last good verification saw must still be there with the same hash;
    otherwise the end of the chain was cut off, or the chain was recomputed."""
    anchor = await last_verification(db, ok_only=True)
    if anchor is None or anchor.head_seq <= start.seq:
        return None  # never verified, or what it saw has been purged since
    found = (await db.exec(select(SEALS.c.hash).where(SEALS.c.seq == anchor.head_seq))).first()
    seen = f"chain position {anchor.head_seq}, verified on {anchor.verified_at:%d %b %Y %H:%M}"
    if found is None:
        return Problem("removed", None, f"events removed from the end: {seen}, is gone")
    if found != anchor.head_hash:
        return Problem("altered", None, f"the chain was rewritten: {seen}, has another hash")
    return None


async def _unexplained_start(db: AsyncSession, start: Link) -> Problem | None:
    """A chain may start after position 0 only where the last `portal audit purge` (an audited,
    sealed event) said it would."""
    if start == START:
        return None
    query = (
        select(EVENTS.c.details)
        .where(EVENTS.c.event == "audit.purged")
        .order_by(EVENTS.c.id.desc())
        .limit(1)
    )
    said = (await db.exec(query)).first() or {}
    if (said.get("checkpoint_seq"), said.get("checkpoint_hash")) != (start.seq, start.hash):
        reason = f"events removed from the start: no purge recorded position {start.seq}"
        return Problem("removed", None, reason)
    return None
