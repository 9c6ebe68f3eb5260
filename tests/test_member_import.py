import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.member_csv import COLUMN_NAMES, MAX_BYTES, MAX_ROWS, FileRefused, read_rows
from portal.member_import import import_rows
from portal.models import Member
from tests.flows import add_member, unit_of_work

HEADER = "imis_id,username,email,first_name,last_name,paid_through\n"


def test_rows_keep_their_line_numbers_and_skip_blank_lines() -> None:
    rows = read_rows(
        (
            HEADER + '201,grace,g@example.org,Grace,"Hopper\nMurray",\n\n202,alan,,Alan,Turing,\n'
        ).encode()
    )
    assert [r.line for r in rows] == [3, 5]
    assert rows[0].values["last_name"] == "Hopper\nMurray"
    assert "email" not in rows[1].values  # a blank cell is no value


def test_a_byte_order_mark_and_other_column_spellings_are_fine() -> None:
    rows = read_rows("\ufeffImisId,User Name,First Name\r\n201,grace,Grace\r\n".encode())
    assert rows[0].values == {"imis_id": "201", "username": "grace", "first_name": "Grace"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (HEADER.encode(), "no members"),
        (b"imis_id,username\n201,gr\x81ce\n", "line 2: the file is not text in UTF-8 or Windows"),
        (b"imis_id,username,password\n201,grace,secret\n", "unknown columns: password"),
        (b"imis_id,username,username\n1,a,a\n", "columns given twice: username"),
        (
            b"email,imis_id,username,email,Email,user name\n1,2,3,4,5,6\n",
            "columns given twice: email, username",
        ),
        (
            ("imis_id,username," + ",".join(f"c{i}" for i in range(20)) + "\n1,a\n").encode(),
            "c4 and 15 more",
        ),
        (b"imis_id,email\n201,g@example.org\n", "required columns missing: username"),
        (b"imis_id,username\n201,grace,extra\n", "line 2 has 3 cells"),
        (b"imis_id,username\n201,gr\x00ace\n", "not a readable CSV file"),
        (b"x" * (MAX_BYTES + 1), "larger than"),
        (("imis_id,username\n" + "1,a\n" * (MAX_ROWS + 1)).encode(), "more than"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(content: bytes, reason: str) -> None:
    with pytest.raises(FileRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_rows(content)


def test_a_megabyte_of_header_repeating_one_column_is_refused_by_its_width() -> None:
    """Refused for its width before any cell is compared: a 1 MB header of one column repeated
    took 13 s of quadratic checking (on the event loop) before it was refused as repeated."""
    header = b"imis_id," * (MAX_BYTES // 8 - 2) + b"username\n"
    fields = len(set(COLUMN_NAMES.values()))
    with pytest.raises(FileRefused) as refused:
        read_rows(header)
    assert str(refused.value) == (
        f"the first line names {MAX_BYTES // 8 - 1} columns, but a member has only {fields} "
        "fields; see the list of columns below"
    )


async def test_good_rows_are_kept_and_bad_rows_say_why(database_url: str) -> None:
    await add_member(database_url)  # ada, iMIS ID 101
    content = (
        HEADER
        + "201,grace,grace@example.org,Grace,Hopper,2030-12-31\n"
        + "202,alan,not-an-email,Alan,Turing,\n"
        + "101,someone,,Some,One,\n"
        + "203,katherine,k@example.org,Katherine,Johnson,31/12/2030\n"
        + "204,GRACE,,Grace,Again,\n"
        + "205,dorothy,DOROTHY@example.org,Dorothy,Vaughan,\n"
    ).encode()
    added: list[str] = []

    async def on_added(member: Member) -> None:
        added.append(member.username)

    async with unit_of_work(database_url) as s:
        report = await import_rows(s, read_rows(content), added=on_added)
    assert [(o.line, o.label) for o in report.added] == [(2, "grace"), (7, "dorothy")]
    assert added == ["grace", "dorothy"]
    reasons = {o.line: o.reason for o in report.rejected}
    assert reasons[3] == "Email must be an email address, such as name@example.org."
    assert reasons[4] == "another member already has this iMIS ID"
    assert reasons[5] is not None and reasons[5].startswith(
        "Paid through must be a date written as YYYY-MM-DD"
    )
    assert reasons[6] == "same username as line 2 of this file"
    async with unit_of_work(database_url) as s:
        names = list(await s.exec(select(Member.username).order_by(col(Member.imis_id))))
    assert names == ["ada", "grace", "dorothy"]


async def test_a_row_that_fails_in_the_database_leaves_nothing_behind(
    database_url: str, session: AsyncSession
) -> None:
    content = (HEADER + "201,grace,,Grace,Hopper,\n202,alan,,Alan,Turing,\n").encode()

    async def fail_for_grace(member: Member) -> None:
        if member.username == "grace":
            raise FileRefused("the audit refused it")

    async with unit_of_work(database_url) as s:
        report = await import_rows(s, read_rows(content), added=fail_for_grace)
    assert [o.reason for o in report.rejected] == ["the audit refused it"]
    names = list(await session.exec(select(Member.username)))
    assert names == ["alan"]
