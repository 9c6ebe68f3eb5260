import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlmodel import select
from werkzeug.datastructures import FileStorage

from portal.member_import import MAX_BYTES, MAX_ROWS
from portal.models import Member
from tests.admin.browser import STAFF_PASSWORD, Browser, add_staff, text
from tests.admin.test_vendor_views import audit_events
from tests.flows import Inputs, add_member, live_portal, off_the_loop, unit_of_work

NEW = 200  # members the big import adds; its other rows repeat the last one


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
    assert "Username is required." in body
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
        (b"imis_id," * (MAX_BYTES // 8 - 2) + b"username\n", "but a member has only 22 fields"),
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


def test_healthz_keeps_answering_while_a_big_import_runs(database_url: str, tmp_path: Path) -> None:
    """Through `portal serve`, a file at the size and row limits: it is parsed in a thread, so
    the event loop answers /healthz meanwhile. Answers are counted, never timed."""
    off_the_loop(lambda: asyncio.run(add_staff(database_url, "admin@example.org", "admin")))
    header = "imis_id,username,email,first_name,last_name,company\n"
    width = (MAX_BYTES - len(header)) // MAX_ROWS - 1
    rows = [f"{1000 + min(i, NEW - 1)},m{min(i, NEW - 1)},,Mary,S," for i in range(MAX_ROWS)]
    content = (header + "".join(row.ljust(width, "x") + "\n" for row in rows)).encode()
    assert MAX_BYTES - MAX_ROWS < len(content) <= MAX_BYTES
    with live_portal(database_url, tmp_path) as url, httpx.Client(base_url=url) as staff:
        form = Inputs(staff.get("/admin/sign-in").text).hidden
        signed_in = staff.post(
            "/admin/sign-in",
            data={**form, "email": "admin@example.org", "password": STAFF_PASSWORD},
        )
        assert signed_in.status_code == 303
        csrf = Inputs(staff.get("/admin/").text).hidden["csrf_token"]  # a new one after sign-in
        with ThreadPoolExecutor(1) as pool:
            upload = pool.submit(
                staff.post,
                "/admin/members/import",
                data={"csrf_token": csrf},
                files={"file": ("members.csv", content, "text/csv")},
                timeout=120,
            )
            answered_during = 0
            with httpx.Client(base_url=url, timeout=60) as monitor:
                while not upload.done():
                    assert monitor.get("/healthz").json() == {"status": "ok"}
                    answered_during += 0 if upload.done() else 1
            report = upload.result()
    assert report.status_code == 200
    assert f"{NEW} added members" in report.text
    assert answered_during > 0
