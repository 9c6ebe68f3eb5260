"""Importing members from a CSV file, with a report of every row."""

import asyncio
from typing import Any

from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from portal import audit, db, members
from portal.admin.access import record, staff_required
from portal.admin.pages import render
from portal.member_import import (
    COLUMN_NAMES,
    MAX_BYTES,
    MAX_ROWS,
    FileRefused,
    import_rows,
    read_rows,
)
from portal.models import Member

blueprint = Blueprint("admin_member_import", __name__)
TEMPLATE = "admin/members/import.html"
COLUMNS = list(dict.fromkeys(COLUMN_NAMES.values()))


def page(**context: Any) -> dict[str, Any]:
    return {
        "columns": COLUMNS,
        "max_rows": MAX_ROWS,
        "max_kb": MAX_BYTES // 1024,
        "report": None,
        "error": None,
        **context,
    }


@blueprint.get("/admin/members/import")
@staff_required("admin")
async def import_page() -> ResponseReturnValue:
    return await render(TEMPLATE, **page())


@blueprint.post("/admin/members/import")
@staff_required()
async def import_file() -> ResponseReturnValue:
    upload = (await request.files).get("file")
    if upload is None or not upload.filename:
        return await render(TEMPLATE, status=422, **page(error="Choose a CSV file to import."))
    content = upload.stream.read(MAX_BYTES + 1)
    try:
        # A megabyte of CSV is CPU work: in a thread, the event loop answers others meanwhile.
        rows = await asyncio.to_thread(read_rows, content)
    except FileRefused as exc:
        return await render(TEMPLATE, status=422, **page(error=f"Nothing was imported: {exc}."))

    async with db.transaction() as s:

        async def added(member: Member) -> None:
            changed = audit.changes({}, members.data_of(member))
            await record(
                s,
                "member.created",
                member_id=member.id,
                username=member.username,
                changes=changed,
                via="csv",
            )

        report = await import_rows(s, rows, added=added)
        await record(
            s,
            "member.imported",
            file=upload.filename[:200],
            added=len(report.added),
            rejected=len(report.rejected),
        )
    return await render(TEMPLATE, **page(report=report, filename=upload.filename))
