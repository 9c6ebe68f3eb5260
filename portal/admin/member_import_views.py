"""Importing members from a CSV file: choose a file, check which column is which, then a dry run
or the import, with a report of every row and the rejected rows to download. The file travels
between the steps inside the form (base64), so no server keeps half an import."""

import asyncio
import base64
import binascii
from typing import Any

from quart import Blueprint, Response, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import audit, db, members
from portal.admin.access import record, staff_required
from portal.admin.member_views import SECTIONS
from portal.admin.pages import render
from portal.member_csv import (
    COLUMN_NAMES,
    MAX_BYTES,
    MAX_ROWS,
    REQUIRED,
    SEPARATORS,
    FileRefused,
    Row,
    Table,
    read_table,
    rejected_rows,
    rows_of,
    suggest,
    template,
)
from portal.member_import import Report, dry_run, import_rows
from portal.models import Member

blueprint = Blueprint("admin_member_import", __name__)
TEMPLATE = "admin/members/import.html"
MAPPING = "admin/members/import_columns.html"
COLUMNS = list(dict.fromkeys(COLUMN_NAMES.values()))
LABELS = {field: label for _, fields in SECTIONS for field, label, _ in fields}


def page(**context: Any) -> dict[str, Any]:
    return {
        "columns": COLUMNS,
        "max_rows": MAX_ROWS,
        "max_kb": MAX_BYTES // 1024,
        "report": None,
        "error": None,
        **context,
    }


async def refused(exc: FileRefused) -> Response:
    return await render(TEMPLATE, status=422, **page(error=f"Nothing was imported: {exc}."))


def csv_download(content: bytes, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, mimetype="text/csv", headers=headers)


@blueprint.get("/admin/members/import")
@staff_required("admin")
async def import_page() -> ResponseReturnValue:
    return await render(TEMPLATE, **page())


@blueprint.get("/admin/members/import/template.csv")
@staff_required()
async def template_file() -> ResponseReturnValue:
    return csv_download(template(), "members-template.csv")


@blueprint.post("/admin/members/import")
@staff_required()
async def choose_file() -> ResponseReturnValue:
    """Step 1: read the file and show its columns, with the member field suggested for each."""
    upload = (await request.files).get("file")
    if upload is None or not upload.filename:
        return await render(TEMPLATE, status=422, **page(error="Choose a CSV file to import."))
    content = upload.stream.read(MAX_BYTES + 1)
    try:
        # A megabyte of CSV is CPU work: in a thread, the event loop answers others meanwhile.
        table = await asyncio.to_thread(read_table, content)
    except FileRefused as exc:
        return await refused(exc)
    return await columns_page(table, content, upload.filename[:200], suggest(table.headings))


async def columns_page(
    table: Table, content: bytes, filename: str, mapping: list[str], error: str | None = None
) -> Response:
    first = table.lines[min(table.lines)]
    return await render(
        MAPPING,
        status=422 if error else 200,
        table=table,
        separated_by=SEPARATORS[table.separator],
        samples=[first[i] if i < len(first) else "" for i in range(len(table.headings))],
        mapping=mapping,
        fields=[(field, f"{LABELS[field]} ({field})") for field in COLUMNS],
        required=[LABELS[field] for field in REQUIRED],
        content=base64.b64encode(content).decode(),
        filename=filename,
        error=error,
    )


def file_of(form: MultiDict[str, str]) -> bytes:
    try:
        return base64.b64decode(form.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        raise FileRefused("the file did not come back whole; choose it again") from None


@blueprint.post("/admin/members/import/run")
@staff_required()
async def run_import() -> ResponseReturnValue:
    """Step 2: a dry run (nothing written) or the import, with the columns staff chose."""
    form = await request.form
    filename, dry = form.get("filename", "")[:200] or "members.csv", form.get("mode") == "dry-run"
    mapping = form.getlist("column")  # one per heading, in the file's order
    try:
        content = file_of(form)
        table = await asyncio.to_thread(read_table, content)
    except FileRefused as exc:
        return await refused(exc)
    try:
        rows = rows_of(table, mapping)
    except FileRefused as exc:
        width = len(table.headings)  # a form sent with more or fewer columns shows the file's
        shown = (mapping + [""] * width)[:width]
        return await columns_page(table, content, filename, shown, f"Nothing was imported: {exc}.")
    async with db.transaction() as s:
        report = await dry_run(s, rows) if dry else await imported(s, rows, filename)
    reasons = {o.line: o.reason or "" for o in report.rejected}
    return await render(
        TEMPLATE,
        **page(
            report=report,
            dry_run=dry,
            filename=filename,
            mapping=mapping,
            content=base64.b64encode(content).decode(),
            rejected=base64.b64encode(rejected_rows(table, reasons)).decode() if reasons else "",
        ),
    )


async def imported(s: AsyncSession, rows: list[Row], filename: str) -> Report:
    async def added(member: Member) -> None:
        changed = audit.changes({}, members.data_of(member))
        await record(
            s, "member.created", member_id=member.id, username=member.username, changes=changed,
            via="csv",
        )  # fmt: skip

    report = await import_rows(s, rows, added=added)
    await record(
        s,
        "member.imported",
        file=filename,
        added=len(report.added),
        rejected=len(report.rejected),
    )
    return report


@blueprint.post("/admin/members/import/rejected.csv")
@staff_required()
async def rejected_file() -> ResponseReturnValue:
    """The rejected rows of the report just shown (carried in its form), to fix and import again."""
    form = await request.form
    try:
        content = file_of(form)
    except FileRefused as exc:
        return await refused(exc)
    stem = form.get("filename", "members")[:100].rsplit(".", 1)[0]
    safe = "".join(ch for ch in stem if ch.isalnum() or ch in "-_") or "members"
    return csv_download(content, f"{safe}-rejected.csv")
