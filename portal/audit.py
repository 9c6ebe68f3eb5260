"""The audit log: record(...) appends one event; the queries behind the audit views live here."""

import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit_details, audit_events, metrics, rate_limits, request_ids
from portal.audit_models import AuditEvent
from portal.rate_limits import client_network

OUTCOMES = ("success", "failure")
# Keys that could carry a credential; refusing them here keeps secrets out of the log for good.
FORBIDDEN_DETAIL_WORDS = ("password", "secret", "token")
PAGE_SIZE = 50
ANONYMOUS_PER_MINUTE = 20
EXPORT_BATCH = 1000
CSV_COLUMNS = (
    "id",
    "occurred_at",
    "event",
    "outcome",
    "vendor_key",
    "member_id",
    "username",
    "staff_email",
    "client_address",
    "details",
)
# Beside the codes (kept for machines), the same event as staff read it in the portal.
CSV_WORD_COLUMNS = ("What happened", "Details in words")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(slots=True)
class Entry:
    """One event as it will be stored, checked (checked()): record() adds it as an ORM row, and
    the hot paths insert it inside a larger statement of theirs (inserted_values())."""

    event: str
    outcome: str
    vendor_key: str | None
    member_id: int | None
    username: str | None
    staff_email: str | None
    client_address: str | None
    details: dict[str, Any]
    request_id: str | None


def checked(
    event: str,
    outcome: str = "success",
    *,
    vendor_key: str | None = None,
    member_id: int | None = None,
    username: str | None = None,
    staff_email: str | None = None,
    client_address: str | None = None,
    **details: Any,
) -> Entry:
    """One event as it will be stored: the one place its content is checked, for record() and
    for the hot paths that insert theirs inside a larger statement (and count it). A plain
    record: building the ORM row costs a hot path more than its whole event."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    leaking = [key for key in details if any(word in key for word in FORBIDDEN_DETAIL_WORDS)]
    if leaking:
        raise ValueError(f"audit details must not carry credentials: {leaking}")
    return Entry(
        event,
        outcome,
        vendor_key,
        member_id,
        username[:254] if username else None,
        staff_email,
        client_address,
        details,
        request_ids.current(),
    )


def entry(event: str, outcome: str = "success", **fields: Any) -> AuditEvent:
    """The checked event as an ORM row (record(), the demo's made-up activity)."""
    found = checked(event, outcome, **fields)
    return AuditEvent(**{name: getattr(found, name) for name in Entry.__slots__})


@dataclass(frozen=True)
class Actor:
    """Who made a change, as its event records it: a staff member at the dashboard (with their
    address), or a tool (`via`: "cli", "imis") for a change nobody made in a browser."""

    staff_email: str | None = None
    client_address: str | None = None
    via: str | None = None

    def fields(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value is not None}


async def record(
    db: AsyncSession, event: str, outcome: str = "success", **fields: Any
) -> AuditEvent:
    row = entry(event, outcome, **fields)
    db.add(row)
    counted(row)
    return row


def inserted_values(event: Entry) -> tuple[Any, ...]:
    """An event's values for a hot-path statement that inserts it itself (the Enhanced token's
    ISSUE and REDEEM, the OpenID Connect token endpoint's exchange), in the order event, outcome,
    vendor_key, client_address, details (JSON text, for `::jsonb`), request_id; the statement
    supplies the member's id. The chain is the sealer's (audit_chain.py), for these rows as for
    every other."""
    return (
        event.event,
        event.outcome,
        event.vendor_key,
        event.client_address,
        json.dumps(event.details),
        event.request_id,
    )


def counted(row: AuditEvent | Entry) -> None:
    """Count a stored event in the metrics (the hand-off paths call this once their statement
    has stored theirs)."""
    metrics.audit_event(row.event, row.outcome, row.vendor_key, row.details)


async def record_anonymous(
    db: AsyncSession,
    event: str,
    outcome: str = "failure",
    *,
    now: datetime,
    client_address: str | None,
    **fields: Any,
) -> None:
    """Record what a request nobody authenticated caused, at most ANONYMOUS_PER_MINUTE events per
    client network a minute, then one `audit.suppressed` marker: anyone can send requests without
    limit, but nobody may grow the audit log (or the overview's figures) without limit."""
    hits = await rate_limits.hit(db, f"audit:{client_network(client_address)}", now=now)
    if hits <= ANONYMOUS_PER_MINUTE:
        await record(db, event, outcome, client_address=client_address, **fields)
        return
    metrics.audit_event(event, outcome, fields.get("vendor_key"), fields)  # counted all the same
    if hits == ANONYMOUS_PER_MINUTE + 1:
        await record(
            db,
            "audit.suppressed",
            "failure",
            client_address=client_address,
            reason="too_many_requests",
            first_suppressed=event,
            per_minute=ANONYMOUS_PER_MINUTE,
        )


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before": old, "after": new}} for every field whose value differs; dates as ISO."""
    return {
        name: {"before": _plain(before.get(name)), "after": _plain(after.get(name))}
        for name in after
        if before.get(name) != after.get(name)
    }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


@dataclass(frozen=True)
class EventFilter:
    """The audit view's filters; None means any. `until` is exclusive."""

    event: str | None = None
    vendor_key: str | None = None
    member_id: int | None = None
    username: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.event:
            found.append(col(AuditEvent.event) == self.event)
        if self.vendor_key:
            found.append(col(AuditEvent.vendor_key) == self.vendor_key)
        if self.member_id is not None:
            found.append(col(AuditEvent.member_id) == self.member_id)
        if self.username:
            found.append(col(AuditEvent.username) == self.username)
        if self.outcome:
            found.append(col(AuditEvent.outcome) == self.outcome)
        if self.since is not None:
            found.append(col(AuditEvent.occurred_at) >= self.since)
        if self.until is not None:
            found.append(col(AuditEvent.occurred_at) < self.until)
        return found


@dataclass(frozen=True)
class EventPage:
    """Newest first. `older`/`newer`: the cursors for the next pages, None at either end."""

    events: list[AuditEvent]
    older: int | None
    newer: int | None


async def page(
    db: AsyncSession,
    where: EventFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """Keyset pagination by id: each page is one index range scan, however deep it is."""
    conditions = where.conditions()
    query = select(AuditEvent).where(*conditions).limit(size + 1)
    ident = col(AuditEvent.id)
    if after is not None:
        rows = list(await db.exec(query.where(ident > after).order_by(ident.asc())))
        more_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        more_older = bool(events) and await _exists(db, conditions, ident < events[-1].id)
    else:
        if before is not None:
            query = query.where(ident < before)
        rows = list(await db.exec(query.order_by(ident.desc())))
        more_older = len(rows) > size
        events = rows[:size]
        more_newer = before is not None and await _exists(
            db, conditions, ident > (events[0].id if events else before - 1)
        )
    return EventPage(
        events=events,
        older=events[-1].id if more_older and events else None,
        newer=events[0].id if more_newer and events else None,
    )


async def _exists(
    db: AsyncSession, conditions: Sequence[ColumnElement[bool]], extra: ColumnElement[bool]
) -> bool:
    query = select(AuditEvent.id).where(*conditions, extra).limit(1)
    return (await db.exec(query)).first() is not None


async def member_events(
    db: AsyncSession, member_id: int, *, since: datetime, limit: int
) -> list[AuditEvent]:
    """A member's own events since `since`, newest first, at most `limit` (their data download)."""
    query = (
        select(AuditEvent)
        .where(col(AuditEvent.member_id) == member_id, col(AuditEvent.occurred_at) >= since)
        .order_by(col(AuditEvent.id).desc())
        .limit(limit)
    )
    return list(await db.exec(query))


async def select_event(db: AsyncSession, event_id: int) -> AuditEvent | None:
    return await db.get(AuditEvent, event_id)


async def event_types(db: AsyncSession) -> list[str]:
    """Every distinct event name, by skipping along the (event, id) index: a handful of index
    probes instead of a scan of the whole table."""
    rows = await db.exec(
        text(
            "WITH RECURSIVE t(name) AS ("
            " SELECT min(event) FROM audit_event"
            " UNION ALL"
            " SELECT (SELECT min(event) FROM audit_event WHERE event > t.name)"
            " FROM t WHERE t.name IS NOT NULL)"
            " SELECT name FROM t WHERE name IS NOT NULL"
        )  # type: ignore[call-overload]
    )
    return [row[0] for row in rows]


async def export(db: AsyncSession, where: EventFilter) -> AsyncIterator[list[AuditEvent]]:
    """All events of the filtered view, newest first, in batches (keyset, constant memory)."""
    before: int | None = None
    while True:
        batch = await page(db, where, before=before, size=EXPORT_BATCH)
        if batch.events:
            yield batch.events
        if batch.older is None:
            return
        before = batch.older


def csv_cell(value: Any) -> str:
    """One CSV cell; text that a spreadsheet would run as a formula is quoted with a leading '."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    text_value = str(value)
    if text_value.startswith(FORMULA_STARTS):
        return "'" + text_value
    return text_value


def csv_row(event: AuditEvent, vendor_names: Mapping[str, str]) -> list[str]:
    """The codes, then the words (`vendor_names`: vendor key -> name)."""
    vendor = vendor_names.get(event.vendor_key or "", event.vendor_key)
    said = audit_events.describe(event.event, event.outcome, event.details, vendor)
    what = f"{said.summary}: {said.reason}" if said.reason else said.summary
    words = [what, audit_details.in_words(event.details)]
    return [csv_cell(getattr(event, name)) for name in CSV_COLUMNS] + [csv_cell(w) for w in words]


async def count(db: AsyncSession, event: str, outcome: str | None, *, since: datetime) -> int:
    """How many `event`s since `since`; `outcome` None: any outcome."""
    query = select(func.count()).where(
        col(AuditEvent.event) == event, col(AuditEvent.occurred_at) >= since
    )
    if outcome is not None:
        query = query.where(col(AuditEvent.outcome) == outcome)
    return int((await db.exec(query)).one())


async def daily_counts(
    db: AsyncSession, events: Collection[str], *, since: datetime, outcome: str = "success"
) -> dict[tuple[str | None, date], int]:
    """{(vendor_key, UTC day): number of `events`} from `since` on."""
    day = func.date(func.timezone("UTC", col(AuditEvent.occurred_at)))
    query = (
        select(col(AuditEvent.vendor_key), day, func.count())
        .where(
            col(AuditEvent.event).in_(events),
            col(AuditEvent.outcome) == outcome,
            col(AuditEvent.occurred_at) >= since,
        )
        .group_by(col(AuditEvent.vendor_key), day)
    )
    return {(key, when): int(n) for key, when, n in await db.exec(query)}


@dataclass(frozen=True)
class VendorFailure:
    vendor_key: str
    event: str
    reason: str | None
    count: int


async def vendor_failures(db: AsyncSession, *, since: datetime) -> list[VendorFailure]:
    """Failed events that name a vendor, grouped by vendor, event and reason; most first."""
    rows = await _failures(db, col(AuditEvent.vendor_key).is_not(None), since)
    return [VendorFailure(str(key), event, why, k) for key, event, why, k in rows]


async def portal_failures(db: AsyncSession, *, since: datetime) -> list[VendorFailure]:
    """Failed events that name no vendor (an iMIS outage, say), grouped likewise; the vendor
    key is "" for them."""
    rows = await _failures(db, col(AuditEvent.vendor_key).is_(None), since)
    return [VendorFailure("", event, why, k) for _, event, why, k in rows]


async def _failures(
    db: AsyncSession, which: ColumnElement[bool], since: datetime
) -> list[tuple[str | None, str, str | None, int]]:
    reason = AuditEvent.__table__.c.details["reason"].astext  # type: ignore[attr-defined]
    n = func.count().label("n")
    query = (
        select(col(AuditEvent.vendor_key), col(AuditEvent.event), reason, n)
        .where(col(AuditEvent.outcome) == "failure", which, col(AuditEvent.occurred_at) >= since)
        .group_by(col(AuditEvent.vendor_key), col(AuditEvent.event), reason)
        .order_by(n.desc(), col(AuditEvent.vendor_key))
    )
    return [(key, event, why, int(k)) for key, event, why, k in await db.exec(query)]


async def last_activity(db: AsyncSession, vendor_keys: Sequence[str]) -> dict[str, datetime]:
    """When each vendor last appeared in the log: one index probe per vendor."""
    if not vendor_keys:
        return {}
    rows = await db.exec(
        text(
            "SELECT k.key, (SELECT a.occurred_at FROM audit_event a WHERE a.vendor_key = k.key"
            " ORDER BY a.id DESC LIMIT 1) FROM unnest(CAST(:keys AS text[])) AS k(key)"
        ).bindparams(keys=list(vendor_keys)),  # type: ignore[call-overload]
    )
    return {key: when for key, when in rows if when is not None}
