"""The audit log: filtered, newest first, keyset-paginated; each event's details; CSV export."""

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from quart import Blueprint, Response, flash, redirect, request, stream_with_context
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import audit, audit_chain, audit_details, audit_events, clock, db, members, vendors
from portal.admin.access import record, staff_required
from portal.admin.pages import render
from portal.errors import NotFound, PortalError
from portal.ids import MAX_BIG_ID, int_argument

blueprint = Blueprint("admin_audit", __name__)
FILTERS = {"event": 64, "vendor": 63, "member": 254, "outcome": 16, "from": 10, "to": 10}


@dataclass
class Filters:
    """The filter form as typed (to show again and to keep in links) and as a query."""

    raw: dict[str, str]
    where: audit.EventFilter = field(default_factory=audit.EventFilter)
    errors: dict[str, str] = field(default_factory=dict)

    def link(self, **extra: int) -> str:
        query = {k: v for k, v in self.raw.items() if v} | extra
        return "?" + urlencode(query) if query else "?"


def day(raw: dict[str, str], name: str, errors: dict[str, str]) -> datetime | None:
    if not raw[name]:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw[name]), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None


async def read_filters(s: AsyncSession, args: MultiDict[str, str]) -> Filters:
    raw = {name: args.get(name, "").strip()[:size] for name, size in FILTERS.items()}
    errors: dict[str, str] = {}
    if raw["outcome"] not in ("", *audit.OUTCOMES):
        errors["outcome"] = "Choose success or failure."
    since, to = day(raw, "from", errors), day(raw, "to", errors)
    member = await members.find_member(s, raw["member"]) if raw["member"] else None
    where = audit.EventFilter(
        event=raw["event"] or None,
        vendor_key=raw["vendor"] or None,
        member_id=member.id if member else None,
        # Nobody by that name: still find the sign-in attempts made with it.
        username=raw["member"].lower() if raw["member"] and member is None else None,
        outcome=raw["outcome"] or None,
        since=since,
        until=to + timedelta(days=1) if to else None,
    )
    return Filters(raw, where, errors)


@blueprint.get("/admin/audit")
@staff_required()
async def event_list() -> ResponseReturnValue:
    before = int_argument(request.args, "before", maximum=MAX_BIG_ID)
    after = int_argument(request.args, "after", maximum=MAX_BIG_ID)
    async with db.transaction() as s:
        filters = await read_filters(s, request.args)
        found = audit.EventPage([], None, None)
        if not filters.errors:
            found = await audit.page(s, filters.where, before=before, after=after)
        names = await members.select_members_by_ids(s, (e.member_id for e in found.events))
        event_types = await audit.event_types(s)
        vendor_list = await vendors.select_vendors(s)
        verification = await audit_chain.last_verification(s)
    return await render(
        "admin/audit/list.html",
        block="results",
        status=400 if filters.errors else 200,
        filters=filters,
        page=found,
        names=names,
        event_options=event_options(event_types, filters.raw["event"]),
        vendor_options=[(v.key, v.name) for v in vendor_list],
        vendor_names={v.key: v.name for v in vendor_list},
        verification=verification,
    )


def event_options(names: list[str], chosen: str) -> list[tuple[str, str]]:
    """The event filter's choices in words (a name typed into the URL is kept, as it is)."""
    shown = names if chosen in names or not chosen else [*names, chosen]
    return [(name, audit_events.event_words(name, "a vendor")) for name in shown]


@blueprint.get("/admin/audit/<big_id:event_id>")
@staff_required()
async def event_detail(event_id: int) -> ResponseReturnValue:
    async with db.transaction() as s:
        event = await audit.select_event(s, event_id)
        if event is None:
            raise NotFound("no such audit event")
        member = await members.select_members_by_ids(s, [event.member_id])
        vendor = await vendors.select_vendor_by_key(s, event.vendor_key or "")
    details = json.dumps(event.details, indent=2, sort_keys=True, ensure_ascii=False)
    return await render(
        "admin/audit/detail.html",
        event=event,
        member=member.get(event.member_id or 0),
        vendor_names={vendor.key: vendor.name} if vendor else {},
        changes=audit_details.changes(event.details),
        other_details=audit_details.other_details(event.details),
        details=details,
    )


@blueprint.post("/admin/audit/verify")
@staff_required("admin")  # admins only: it writes to the database and can take a while
async def verify_now() -> ResponseReturnValue:
    """The tamper check on demand: the same verification `portal audit verify` and the daily
    background job run (it waits for the chain lock, so it never overlaps them), recorded as
    they record it, so the page's line shows when and what."""
    async with db.transaction() as s:
        report = await audit_chain.verify(s, now=clock.now())
    if report.ok:
        message = f"Tamper check done: the audit log is intact ({report.events:,} events)."
    else:
        message = "Tamper check done: a problem was found. Contact your operator."
    await flash(message, "success" if report.ok else "error")
    return redirect("/admin/audit", 303)


@blueprint.get("/admin/audit.csv")
@staff_required()
async def export_csv() -> ResponseReturnValue:
    """The filtered view, every page of it, streamed in batches; reading it is audited too."""
    async with db.transaction() as s:
        filters = await read_filters(s, request.args)
        if filters.errors:
            raise PortalError(" ".join(filters.errors.values()))
        await record(s, "audit.exported", filters={k: v for k, v in filters.raw.items() if v})

    @stream_with_context
    async def lines() -> AsyncIterator[bytes]:
        # A UTF-8 byte order mark first: without it Excel reads the file as ANSI and garbles é, ü.
        yield "\ufeff".encode() + csv_text([[*audit.CSV_COLUMNS, *audit.CSV_WORD_COLUMNS]])
        async with db.transaction() as s:
            names = {v.key: v.name for v in await vendors.select_vendors(s)}
            async for batch in audit.export(s, filters.where):
                yield csv_text([audit.csv_row(e, names) for e in batch])

    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'}
    return Response(lines(), mimetype="text/csv", headers=headers)


def csv_text(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()
