"""Importing members from a CSV file (read by member_csv.py): every row is checked on its own and
written on its own (a savepoint each), so good rows are kept, bad rows are reported with a
reason, and no row is ever half-written. A dry run does all of it and then rolls it all back."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.errors import PortalError
from portal.member_csv import MAX_CELL, Row
from portal.members import add_member, parse_member
from portal.models import Member

UNIQUE = {"imis_id": "iMIS ID", "username": "username", "email": "email"}


@dataclass(frozen=True)
class Outcome:
    line: int
    label: str
    reason: str | None = None  # None: added


@dataclass
class Report:
    added: list[Outcome] = field(default_factory=list)
    rejected: list[Outcome] = field(default_factory=list)


async def import_rows(
    db: AsyncSession, rows: list[Row], *, added: Callable[[Member], Awaitable[None]]
) -> Report:
    """Add a member per good row; `added` runs in the row's savepoint (for its audit event)."""
    report = Report()
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        label = row.values.get("username") or row.values.get("imis_id") or ""
        reason = _too_long(row) or await _add(db, row, seen, added)
        outcome = Outcome(row.line, label[:80], reason)
        (report.rejected if reason else report.added).append(outcome)
    return report


async def dry_run(db: AsyncSession, rows: list[Row]) -> Report:
    """What importing `rows` would do now, checked against the stored members as a real import
    is, then rolled back: nothing of it is kept, and nothing is audited."""
    savepoint = await db.begin_nested()
    try:
        return await import_rows(db, rows, added=_nothing)
    finally:
        await savepoint.rollback()


async def _nothing(member: Member) -> None:
    return None


def _too_long(row: Row) -> str | None:
    for column, value in row.values.items():
        if len(value) > MAX_CELL:
            return f"{column}: longer than {MAX_CELL} characters"
    return None


async def _add(
    db: AsyncSession,
    row: Row,
    seen: dict[tuple[str, str], int],
    added: Callable[[Member], Awaitable[None]],
) -> str | None:
    try:
        data = parse_member(dict(row.values))
    except PortalError as exc:
        return str(exc)
    for column, label in UNIQUE.items():
        value = getattr(data, column)
        if value and (column, value) in seen:
            return f"same {label} as line {seen[column, value]} of this file"
    for column in UNIQUE:
        if getattr(data, column):
            seen[column, getattr(data, column)] = row.line
    try:
        async with db.begin_nested():
            member = await add_member(db, data)
            await added(member)
    except IntegrityError:
        return "conflicts with a member stored at the same moment; import this row again"
    except PortalError as exc:
        return str(exc)
    return None
