"""Importing members from a CSV file: every row is checked on its own and written on its own
(a savepoint each), so good rows are kept, bad rows are reported with a reason, and no row is
ever half-written. Problems with the file as a whole refuse the whole file."""

import _csv
import csv
import io
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.catalogue import MEMBER_COLUMNS
from portal.errors import PortalError
from portal.members import MemberData, add_member, parse_member
from portal.models import Member

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000
MAX_CELL = 1000  # longer than any member column allows
REQUIRED = ("imis_id", "username")
UNIQUE = {"imis_id": "iMIS ID", "username": "username", "email": "email"}


class FileRefused(PortalError):
    """The file cannot be imported at all; nothing was written."""

    status = 422


def _squash(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


# A column may be named like the member field (first_name), like the catalogue (FirstName) or
# in words ("First name"): all squash to the same key.
COLUMN_NAMES: dict[str, str] = {
    **{_squash(catalogue): column for catalogue, column in MEMBER_COLUMNS.items()},
    **{_squash(column): column for column in MemberData.model_fields},
}
FIELDS = frozenset(COLUMN_NAMES.values())
# Room for a few mistakes, which are then named; beyond it a header cannot be a member list.
MAX_COLUMNS = len(FIELDS) + 10


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    line: int
    label: str
    reason: str | None = None  # None: added


@dataclass
class Report:
    added: list[Outcome] = field(default_factory=list)
    rejected: list[Outcome] = field(default_factory=list)


def read_rows(content: bytes) -> list[Row]:
    if len(content) > MAX_BYTES:
        raise FileRefused(f"the file is larger than {MAX_BYTES // 1024} KB; split it into parts")
    if b"\x00" in content:  # a spreadsheet's own format, or UTF-16: not UTF-8 CSV text
        line = content[: content.index(b"\x00")].count(b"\n") + 1
        raise FileRefused(f"line {line}: this is not a readable CSV file (it has NUL bytes)")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise FileRefused(
            f"the file is not UTF-8 text (line {line}); save it as “CSV UTF-8” and try again"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        columns = _columns(next(reader, []))
        rows = [row for row in _rows(reader, columns) if row.values]
    except csv.Error as exc:
        raise FileRefused(
            f"line {reader.line_num}: this is not a readable CSV file ({exc})"
        ) from None
    if not rows:
        raise FileRefused("the file has a header but no members")
    return rows


def _columns(header: list[str]) -> list[str]:
    if not any(cell.strip() for cell in header):
        raise FileRefused("the file is empty; the first line must name the columns")
    # Every check below is linear, and an absurd header is refused before any of them runs: a
    # megabyte of one column repeated cost 13 s of quadratic checking.
    if len(header) > MAX_COLUMNS:
        raise FileRefused(
            f"the first line names {len(header)} columns, but a member has only "
            f"{len(FIELDS)} fields; see the list of columns below"
        )
    columns = [COLUMN_NAMES.get(_squash(cell), "") for cell in header]
    unknown = [
        cell.strip()[:40] for cell, column in zip(header, columns, strict=True) if not column
    ]
    if unknown:
        raise FileRefused(f"unknown columns: {_some(unknown)}; see the list of columns below")
    doubled = sorted(column for column, n in Counter(columns).items() if n > 1)
    if doubled:
        raise FileRefused(f"columns given twice: {', '.join(doubled)}")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise FileRefused(f"required columns missing: {', '.join(missing)}")
    return columns


def _some(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _rows(reader: "_csv.Reader", columns: list[str]) -> list[Row]:
    rows: list[Row] = []
    for cells in reader:
        if len(rows) >= MAX_ROWS:
            raise FileRefused(f"the file has more than {MAX_ROWS} members; split it into parts")
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            raise FileRefused(
                f"line {reader.line_num} has {len(cells)} cells but the header names "
                f"{len(columns)} columns"
            )
        values = {c: v.strip() for c, v in zip(columns, cells, strict=False) if v.strip()}
        rows.append(Row(reader.line_num, values))
    return rows


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
