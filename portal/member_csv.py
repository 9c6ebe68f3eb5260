"""Reading a member CSV file, as staff's spreadsheets write them: UTF-8 (with or without a byte
order mark), UTF-16 (Excel's "Unicode text") or Windows-1252; commas, semicolons (Excel where the
decimal mark is a comma) or tabs; headings in words, which are matched to member fields. Also the
CSV files the import gives back: a template, and the rejected rows with their reasons. Pure
rules, no database: member_import.py writes the rows."""

import _csv
import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

from portal.catalogue import MEMBER_COLUMNS
from portal.errors import PortalError
from portal.members import MemberData

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000
MAX_CELL = 1000  # longer than any member column allows
REQUIRED = ("imis_id", "username")
SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs"}  # in order of preference
REASON = "reason"  # the column the rejected rows' file adds
# Control characters no text file holds (tab, line feed and carriage return are text).
CONTROL = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r")


class FileRefused(PortalError):
    """The file cannot be imported at all; nothing was written."""

    status = 422


def squash(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


# A column may be named like the member field (first_name), like the catalogue (FirstName) or
# in words ("First name"): all squash to the same key.
COLUMN_NAMES: dict[str, str] = {
    **{squash(catalogue): column for catalogue, column in MEMBER_COLUMNS.items()},
    **{squash(column): column for column in MemberData.model_fields},
}
FIELDS = frozenset(COLUMN_NAMES.values())
# Headings other systems and people use, squashed: what the mapping step suggests for them.
COMMON_HEADINGS: dict[str, tuple[str, ...]] = {
    "imis_id": ("id", "imis", "imisnumber", "memberid", "membernumber", "memberno", "customerid",
                "contactid", "customernumber"),
    "username": ("user", "userid", "login", "loginname", "signin", "logonid", "webid"),
    "email": ("mail", "emailaddress", "primaryemail", "emailaddr"),
    "first_name": ("first", "firstnames", "givenname", "forename", "forenames"),
    "last_name": ("last", "surname", "familyname", "lname"),
    "full_name": ("name", "displayname", "membername", "contactname"),
    "informal_name": ("nickname", "preferredname", "knownas"),
    "prefix": ("salutation", "honorific"),
    "company": ("organisation", "organization", "org", "employer", "institution"),
    "title": ("jobtitle", "position", "role"),
    "phone": ("telephone", "tel", "phonenumber", "mobile", "cell", "workphone"),
    "address1": ("address", "street", "streetaddress", "addressline1", "address1line"),
    "city": ("town", "locality"),
    "state": ("province", "region", "county", "stateprovince"),
    "postal_code": ("zip", "zipcode", "postcode", "postalcode"),
    "member_type": ("type", "membershiptype", "category", "membertypecode"),
    "member_status": ("status", "statuscode", "membershipstatus"),
    "join_date": ("joined", "datejoined", "membersince", "startdate"),
    "paid_through": ("paidthru", "paiduntil", "paidto", "expiry", "expires", "expirydate",
                     "expirationdate", "renewaldate", "duesexpire"),
}  # fmt: skip
SUGGESTIONS: dict[str, str] = {
    heading: field for field, headings in COMMON_HEADINGS.items() for heading in headings
} | COLUMN_NAMES
# Room for a few mistakes, which are then named; beyond it a header cannot be a member list.
MAX_COLUMNS = len(FIELDS) + 10


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class Table:
    """A file as read: its headings, its rows' cells by line, and how it was written."""

    headings: list[str]
    lines: dict[int, list[str]]
    separator: str
    encoding: str


def decode(content: bytes) -> tuple[str, str]:
    """The file's text and the name of its encoding. A byte order mark says which; without one,
    UTF-8 when the bytes are UTF-8 (text in Windows-1252 with any accent never is), else
    Windows-1252, what Excel on Windows writes for "CSV (Comma delimited)"."""
    for bom, codec, name in (
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    ):
        if content.startswith(bom):
            try:
                return content.decode(codec), name
            except UnicodeDecodeError:
                raise FileRefused(f"the file says it is {name} text but is not") from None
    if b"\x00" in content:  # a spreadsheet's own format, or UTF-16 without its mark
        line = content[: content.index(b"\x00")].count(b"\n") + 1
        raise FileRefused(f"line {line}: this is not a readable CSV file (it has NUL bytes)")
    try:
        return content.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise FileRefused(
            f"line {line}: the file is not text in UTF-8 or Windows-1252; "
            "save it as “CSV UTF-8” and try again"
        ) from None


def separator_of(text: str) -> str:
    """The separator that splits the header line into the most cells (a comma when none does)."""
    unquoted = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])
    return max(SEPARATORS, key=unquoted.count)  # max keeps the first of equals


def read_table(content: bytes) -> Table:
    """The file's headings and rows; a file that cannot be a member list is refused whole."""
    if len(content) > MAX_BYTES:
        raise FileRefused(f"the file is larger than {MAX_BYTES // 1024} KB; split it into parts")
    text, encoding = decode(content)
    bad = next((ch for ch in text if ch in CONTROL), None)
    if bad is not None:
        line = text[: text.index(bad)].count("\n") + 1
        raise FileRefused(f"line {line}: this is not a readable CSV file (it has control bytes)")
    separator = separator_of(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        headings = _headings(next(reader, []))
        lines = _lines(reader, len(headings))
    except csv.Error as exc:
        raise FileRefused(
            f"line {reader.line_num}: this is not a readable CSV file ({exc})"
        ) from None
    if not lines:
        raise FileRefused("the file has a header but no members")
    return Table(headings, lines, separator, encoding)


def _headings(header: list[str]) -> list[str]:
    if not any(cell.strip() for cell in header):
        raise FileRefused("the file is empty; the first line must name the columns")
    # An absurd header is refused before anything else looks at it: a megabyte of one column
    # repeated cost 13 s of quadratic checking.
    if len(header) > MAX_COLUMNS:
        raise FileRefused(
            f"the first line names {len(header)} columns, but a member has only "
            f"{len(FIELDS)} fields; see the list of columns below"
        )
    return [cell.strip() for cell in header]


def _lines(reader: "_csv.Reader", width: int) -> dict[int, list[str]]:
    lines: dict[int, list[str]] = {}
    for cells in reader:
        if len(lines) >= MAX_ROWS:
            raise FileRefused(f"the file has more than {MAX_ROWS} members; split it into parts")
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise FileRefused(
                f"line {reader.line_num} has {len(cells)} cells but the header names "
                f"{width} columns"
            )
        if any(c.strip() for c in cells):
            lines[reader.line_num] = cells[:width]
    return lines


def suggest(headings: list[str]) -> list[str]:
    """The member field each heading most likely holds ("" for none); a field goes to the first
    heading that names it, so no suggestion is given twice."""
    taken: set[str] = set()
    suggested = []
    for heading in headings:
        field = SUGGESTIONS.get(squash(heading), "")
        suggested.append("" if field in taken else field)
        taken.add(field)
    return suggested


def rows_of(table: Table, mapping: list[str]) -> list[Row]:
    """Each row's values by member field; `mapping` gives each heading's field, "" to skip it."""
    if len(mapping) != len(table.headings) or any(m and m not in FIELDS for m in mapping):
        raise FileRefused("the columns chosen do not match the file; choose the file again")
    doubled = sorted(field for field, n in Counter(m for m in mapping if m).items() if n > 1)
    if doubled:
        raise FileRefused(f"more than one column is imported as {', '.join(doubled)}")
    missing = [field for field in REQUIRED if field not in mapping]
    if missing:
        raise FileRefused(f"no column is imported as {' or '.join(missing)}, which are required")
    return [
        Row(line, values)
        for line, cells in table.lines.items()
        if (
            values := {
                m: v.strip() for m, v in zip(mapping, cells, strict=False) if m and v.strip()
            }
        )
    ]


def read_rows(content: bytes) -> list[Row]:
    """A file whose every heading names a member field (the command line, tests)."""
    table = read_table(content)
    mapping = [COLUMN_NAMES.get(squash(heading), "") for heading in table.headings]
    unknown = [h[:40] for h, m in zip(table.headings, mapping, strict=True) if not m]
    if unknown:
        raise FileRefused(f"unknown columns: {_some(unknown)}; see the list of columns below")
    doubled = sorted(field for field, n in Counter(mapping).items() if n > 1)
    if doubled:
        raise FileRefused(f"columns given twice: {', '.join(doubled)}")
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise FileRefused(f"required columns missing: {', '.join(missing)}")
    return rows_of(table, mapping)


def _some(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _write(header: list[str], rows: list[list[str]], separator: str = ",") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    # With a byte order mark, Excel opens UTF-8 as UTF-8 rather than as Windows-1252.
    return out.getvalue().encode("utf-8-sig")


def template() -> bytes:
    """An empty member list: every column the import reads, required ones first."""
    return _write(list(dict.fromkeys(COLUMN_NAMES.values())), [])


def rejected_rows(table: Table, reasons: dict[int, str]) -> bytes:
    """The rejected rows as the file had them (same columns, same separator), with a column
    saying why: fixed and imported again, the `reason` column is not imported."""
    width = len(table.headings)
    rows = [
        [*(table.lines[line] + [""] * width)[:width], reason] for line, reason in reasons.items()
    ]
    return _write([*table.headings, REASON], rows, table.separator)
