"""Reading member CSV files as spreadsheets write them, and the files the import gives back."""

import csv
import io

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.member_csv import (
    FileRefused,
    Table,
    read_table,
    rejected_rows,
    rows_of,
    suggest,
    template,
)
from portal.member_import import dry_run
from portal.models import Member
from tests.flows import add_member, unit_of_work


@pytest.mark.parametrize(
    ("content", "separator", "encoding"),
    [
        (b"imis_id,username\n201,grace\n", ",", "UTF-8"),
        ("imis_id;username;first_name\n201;grace;Ren\u00e9e\n".encode(), ";", "UTF-8"),
        ("\ufeffimis_id\tusername\n201\tgrace\n".encode(), "\t", "UTF-8"),
        ("imis_id;username;first_name\r\n201;grace;Ren\u00e9e\r\n".encode("cp1252"), ";",
         "Windows-1252"),
        ("imis_id\tusername\r\n201\tgrace\r\n".encode("utf-16"), "\t", "UTF-16"),
        (b'"imis_id";"username"\n"201";"a,b"\n', ";", "UTF-8"),
    ],
)  # fmt: skip
def test_separators_and_encodings_are_detected(
    content: bytes, separator: str, encoding: str
) -> None:
    table = read_table(content)
    assert (table.separator, table.encoding) == (separator, encoding)
    assert table.headings[:2] == ["imis_id", "username"]
    assert table.lines[2][0] == "201"


def test_windows_1252_text_reads_as_its_letters() -> None:
    table = read_table(
        "imis_id;username;last_name\n201;grace;M\u00fcller \u2013 \u20ac\n".encode("cp1252")
    )
    assert table.lines[2][2] == "M\u00fcller \u2013 \u20ac"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b"imis_id,username\n", "no members"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not a readable CSV file (it has NUL bytes)"),
        (b"imis_id,username\n1,\x07bell\n", "line 2: this is not a readable CSV file (it has"),
        (b"imis_id,username\n1,\x81\n", "line 2: the file is not text in UTF-8 or Windows-1252"),
        (b"\xff\xfei\x00d\x00\x00\xd8", "the file says it is UTF-16 text but is not"),
    ],
)  # fmt: skip
def test_files_that_are_not_member_lists_are_refused_in_words(content: bytes, reason: str) -> None:
    with pytest.raises(FileRefused) as refused:
        read_table(content)
    assert reason in str(refused.value)


def test_common_headings_are_suggested_once_each() -> None:
    headings = ["ID", "E-mail", "Email address", "User name", "Surname", "Given name", "Zip",
                "Expiry date", "Member since", "Organisation", "Notes", "reason"]  # fmt: skip
    assert suggest(headings) == [
        "imis_id", "email", "", "username", "last_name", "first_name", "postal_code",
        "paid_through", "join_date", "company", "", "",
    ]  # fmt: skip


def test_the_mapping_chooses_and_skips_columns() -> None:
    table = read_table(b"ID;Login;Notes\n201;grace;call back\n202;;\n")
    rows = rows_of(table, ["imis_id", "username", ""])
    assert [(r.line, r.values) for r in rows] == [
        (2, {"imis_id": "201", "username": "grace"}),
        (3, {"imis_id": "202"}),
    ]


@pytest.mark.parametrize(
    ("mapping", "reason"),
    [
        (["imis_id", "username"], "do not match the file"),
        (["imis_id", "username", "password"], "do not match the file"),
        (["imis_id", "imis_id", "username"], "more than one column is imported as imis_id"),
        (["imis_id", "", ""], "no column is imported as username, which are required"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused(mapping: list[str], reason: str) -> None:
    table = read_table(b"ID;Login;Notes\n201;grace;call back\n")
    with pytest.raises(FileRefused, match=reason):
        rows_of(table, mapping)


def test_the_rejected_rows_file_keeps_the_original_columns_and_says_why() -> None:
    table = Table(["ID", "Login"], {2: ["201", "grace"], 3: ["202"]}, ";", "Windows-1252")
    content = rejected_rows(table, {3: "username: Field required"})
    assert content.startswith("\ufeff".encode())
    assert list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";")) == [
        ["ID", "Login", "reason"],
        ["202", "", "username: Field required"],
    ]
    again = read_table(content)
    assert suggest(again.headings) == ["imis_id", "username", ""]


def test_the_template_is_an_empty_member_list_the_import_reads() -> None:
    table = read_table(template() + b"201,grace\n")
    assert table.headings[:2] == ["imis_id", "username"]
    assert suggest(table.headings) == table.headings


async def test_a_dry_run_reports_like_an_import_and_keeps_nothing(
    database_url: str, session: AsyncSession
) -> None:
    await add_member(database_url)  # ada, iMIS ID 101
    table = read_table(b"imis_id;username\n101;someone\n201;grace\n202;grace\n")
    async with unit_of_work(database_url) as s:
        report = await dry_run(s, rows_of(table, ["imis_id", "username"]))
    assert [o.label for o in report.added] == ["grace"]
    assert {o.line: o.reason for o in report.rejected} == {
        2: "another member already has this iMIS ID",
        4: "same username as line 3 of this file",
    }
    assert list(await session.exec(select(Member.username))) == ["ada"]
