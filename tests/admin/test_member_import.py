import io

from sqlmodel import select
from werkzeug.datastructures import FileStorage

from portal.models import Member
from tests.admin.browser import Browser, text
from tests.admin.test_vendors import audit_events
from tests.flows import add_member, unit_of_work


async def upload(admin: Browser, content: bytes, name: str = "members.csv") -> tuple[int, str]:
    file = FileStorage(io.BytesIO(content), filename=name, content_type="text/csv")
    response = await admin.client.post(
        "/admin/members/import", form={"csrf_token": admin.csrf}, files={"file": file}
    )
    return response.status_code, await text(response)


async def usernames(database_url: str) -> list[str]:
    async with unit_of_work(database_url) as s:
        return sorted(await s.exec(select(Member.username)))


async def test_the_report_lists_added_and_rejected_rows(admin: Browser, database_url: str) -> None:
    await add_member(database_url)
    content = (
        b"imis_id,username,email,first_name,last_name\n"
        b"201,grace,grace@example.org,Grace,Hopper\n"
        b"202,alan,ada@example.org,Alan,Turing\n"
        b"203,grace,,Grace,Two\n"
        b"204,,,No,Name\n"
    )
    status, body = await upload(admin, content)
    assert status == 200
    assert "another member already has this email" in body
    assert "same username as line 2 of this file" in body
    assert "username: Field required" in body
    assert await usernames(database_url) == ["ada", "grace"]
    [summary] = await audit_events(database_url, "member.imported")
    assert summary.details == {"file": "members.csv", "added": 1, "rejected": 3}
    [created] = await audit_events(database_url, "member.created")
    assert (created.details["via"], created.staff_email) == ("csv", "admin@example.org")


async def test_a_file_refused_whole_writes_nothing(admin: Browser, database_url: str) -> None:
    for content, reason in [
        ("imis_id,username\n201,gr\xe2ce\n".encode("latin-1"), "not UTF-8 text"),
        (b"imis_id,username,pin\n201,grace,1\n", "unknown columns: pin"),
        (b"PK\x03\x04\x00\x00binary", "not a readable CSV file"),
        (b"imis_id,username\n201,grace\n" + b"#" * 1024 * 1024, "larger than 1024 KB"),
    ]:
        status, body = await upload(admin, content)
        assert status == 422, reason
        assert "Nothing was imported" in body and reason in body
    assert await usernames(database_url) == []
    assert await audit_events(database_url, "member.imported") == []


async def test_no_file_is_a_clear_refusal(admin: Browser) -> None:
    response = await admin.post("/admin/members/import", {})
    assert response.status_code == 422
    assert "Choose a CSV file" in await text(response)


async def test_more_than_the_request_limit_is_refused_before_reading(admin: Browser) -> None:
    status, body = await upload(admin, b"x" * (3 * 1024 * 1024))
    assert status == 413
    assert "Too large" in body
