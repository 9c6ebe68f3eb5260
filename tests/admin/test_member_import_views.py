import asyncio
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlmodel import select
from werkzeug.datastructures import FileStorage

from portal.member_csv import MAX_BYTES, MAX_ROWS
from portal.models import Member
from tests.admin.browser import STAFF_PASSWORD, Browser, add_staff, text
from tests.admin.test_vendor_views import audit_events
from tests.flows import Inputs, add_member, live_portal, off_the_loop, unit_of_work

NEW = 200  # members the big import adds; its other rows repeat the last one


async def choose(admin: Browser, content: bytes, name: str = "members.csv") -> tuple[int, str]:
    """Step 1: the file, answered by the column step (or a refusal)."""
    file = FileStorage(io.BytesIO(content), filename=name, content_type="text/csv")
    response = await admin.client.post(
        "/admin/members/import", form={"csrf_token": admin.csrf}, files={"file": file}
    )
    return response.status_code, await text(response)


def chosen_columns(body: str) -> list[str]:
    """What each column's select has selected ("" for Not imported), as a browser sends it."""
    selects = re.findall(r'<select[^>]*name="column".*?</select>', body, re.S)
    return [(re.findall(r'<option value="([^"]*)" selected>', x) or [""])[0] for x in selects]


async def run(
    admin: Browser, body: str, mode: str = "import", columns: list[str] | None = None
) -> tuple[int, str]:
    """Step 2, from the column step's page: its hidden fields and its selects (or `columns`)."""
    hidden = Inputs(body).hidden
    form = [("content", hidden["content"]), ("filename", hidden["filename"]), ("mode", mode)]
    form += [("column", c) for c in (chosen_columns(body) if columns is None else columns)]
    response = await admin.post("/admin/members/import/run", form)
    return response.status_code, await text(response)


async def upload(admin: Browser, content: bytes, name: str = "members.csv") -> tuple[int, str]:
    """Both steps, keeping the suggested columns."""
    status, body = await choose(admin, content, name)
    if status != 200:
        return status, body
    return await run(admin, body)


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
    assert status == 200, re.findall(r"flash[^>]*>(.*?)<", body, re.S)
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
        (b"imis_id,username\n201,gr\x81ce\n", "not text in UTF-8 or Windows-1252"),
        (b"imis_id,pin\n201,1\n", "no column is imported as username, which are required"),
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
        columns = staff.post(
            "/admin/members/import",
            data={"csrf_token": csrf},
            files={"file": ("members.csv", content, "text/csv")},
            timeout=120,
        )
        assert columns.status_code == 200
        form = {**Inputs(columns.text).hidden, "mode": "import"}
        form["column"] = chosen_columns(columns.text)  # type: ignore[assignment]
        with ThreadPoolExecutor(1) as pool:
            upload = pool.submit(
                staff.post,
                "/admin/members/import/run",
                data=form,
                files={"unused": ("", b"", "text/plain")},  # as the browser sends it: multipart
                timeout=120,
            )
            answered_during = 0
            with httpx.Client(base_url=url, timeout=60) as monitor:
                while not upload.done():
                    assert monitor.get("/healthz").json() == {"status": "ok"}
                    answered_during += 0 if upload.done() else 1
            report = upload.result()
    assert report.status_code == 200
    assert f"{NEW} members added" in report.text
    assert answered_during > 0


async def test_the_column_step_suggests_fields_and_says_how_the_file_was_read(
    admin: Browser,
) -> None:
    content = "ID;E-mail;Login;Surname;Notes\r\n301;renee@example.org;renee;Müller;x\r\n"
    status, body = await choose(admin, content.encode("cp1252"), "export.csv")
    assert status == 200
    assert "read as Windows-1252 text separated by semicolons" in body
    assert chosen_columns(body) == ["imis_id", "email", "username", "last_name", ""]
    assert "Müller" in body  # the first row, as a sample


async def test_a_semicolon_windows_1252_file_imports_with_its_letters(
    admin: Browser, database_url: str
) -> None:
    content = "ID;E-mail;Login;Surname\r\n301;renee@example.org;renee;Müller \u2013 Ørsted\r\n"
    status, body = await upload(admin, content.encode("cp1252"))
    assert status == 200 and "1 member added" in body
    async with unit_of_work(database_url) as s:
        renee = (await s.exec(select(Member).where(Member.username == "renee"))).one()
    assert (renee.imis_id, renee.email, renee.last_name) == (
        "301", "renee@example.org", "Müller \u2013 Ørsted"
    )  # fmt: skip


async def test_staff_can_change_a_suggested_column(admin: Browser, database_url: str) -> None:
    status, body = await choose(admin, b"ID,Login,Nick\n301,renee,Ren\n")
    status, body = await run(admin, body, columns=["imis_id", "username", "informal_name"])
    assert status == 200
    async with unit_of_work(database_url) as s:
        renee = (await s.exec(select(Member))).one()
    assert renee.informal_name == "Ren"
    status, again = await choose(admin, b"ID,Login,Nick\n302,bob,B\n")
    status, refused = await run(admin, again, columns=["imis_id", "imis_id", ""])
    assert status == 422
    assert "more than one column is imported as imis_id" in refused
    assert 'name="column"' in refused  # back on the column step, to choose again
    for columns in (["imis_id"], ["imis_id", "username", "", "email"], ["pin", "username", ""]):
        status, refused = await run(admin, again, columns=columns)
        assert status == 422 and "the columns chosen do not match the file" in refused


async def test_a_dry_run_writes_nothing_and_can_then_import(
    admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    status, body = await choose(admin, b"imis_id,username\n101,taken\n301,renee\n")
    status, report = await run(admin, body, mode="dry-run")
    assert status == 200
    assert "Dry run: nothing was written" in report and "Would be added" in report
    assert "another member already has this iMIS ID" in report
    assert await usernames(database_url) == ["ada"]
    assert await audit_events(database_url, "member.imported") == []
    hidden = Inputs(report).hidden
    columns = re.findall(r'name="column" value="([^"]*)"', report)
    now = [("content", hidden["content"]), ("filename", hidden["filename"]), ("mode", "import")]
    response = await admin.post("/admin/members/import/run", now + [("column", c) for c in columns])
    assert "1 member added" in await text(response)
    assert await usernames(database_url) == ["ada", "renee"]


async def test_the_rejected_rows_download_as_the_file_had_them_with_a_reason(
    admin: Browser, database_url: str
) -> None:
    content = "ID;Login;Surname\r\n301;renee;Müller\r\n302;;Ørsted\r\n303;bad name;X\r\n"
    status, report = await upload(admin, content.encode("cp1252"), "export.csv")
    assert status == 200
    forms = Inputs(report)
    assert any(f.get("action") == "/admin/members/import/rejected.csv" for f in forms.forms)
    rejected = re.search(r'action="/admin/members/import/rejected.csv".*?</form>', report, re.S)
    assert rejected is not None
    fields = Inputs(rejected.group(0)).hidden
    response = await admin.post(
        "/admin/members/import/rejected.csv",
        {"content": fields["content"], "filename": fields["filename"]},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="export-rejected.csv"' in response.headers["Content-Disposition"]
    body = (await response.get_data()).decode("utf-8-sig")
    assert body.splitlines() == [
        "ID;Login;Surname;reason",
        "302;;Ørsted;Username is required.",
        "303;bad name;X;Username must not contain spaces.",
    ]
    status, columns = await choose(admin, await response.get_data(), "export-rejected.csv")
    assert chosen_columns(columns) == ["imis_id", "username", "last_name", ""]


async def test_the_template_downloads(admin: Browser) -> None:
    response = await admin.get("/admin/members/import/template.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    header = (await response.get_data()).decode("utf-8-sig").splitlines()[0]
    assert header.startswith("imis_id,username,")


async def test_a_file_that_did_not_come_back_whole_is_a_clear_422(admin: Browser) -> None:
    for content in ("not base64!", ""):
        response = await admin.post(
            "/admin/members/import/run", {"content": content, "mode": "import", "column": "x"}
        )
        assert response.status_code == 422
        assert "Nothing was imported" in await text(response)
    response = await admin.post("/admin/members/import/rejected.csv", {"content": "%%"})
    assert response.status_code == 422
