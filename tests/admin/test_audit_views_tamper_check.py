"""The audit page tells staff, in plain words, when the chain was last verified and how it was."""

from tests.admin.browser import Browser, text
from tests.audit_tampering import NOW, add_events, scalar, tamper, verify

LINE_START = '<p class="flash__body">Tamper check:'


async def tamper_line(browser: Browser) -> str:
    body = await text(await browser.get("/admin/audit"))
    return body.split(LINE_START, 1)[1].split("</p>", 1)[0].strip()


async def test_never_verified(viewer: Browser) -> None:
    assert await tamper_line(viewer) == (
        "not run yet. It runs by itself once a day; an admin can run it now."
    )
    assert 'action="/admin/audit/verify"' not in await text(await viewer.get("/admin/audit"))


async def test_an_admin_checks_now_and_sees_the_result(
    admin: Browser, viewer: Browser, database_url: str
) -> None:
    await add_events(database_url, 3)
    page = await text(await admin.get("/admin/audit"))
    form = page.split('action="/admin/audit/verify"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token"' in form and "Check now" in form
    # Changing state takes an admin and the form's CSRF token.
    assert (await viewer.post("/admin/audit/verify")).status_code == 403
    assert (await admin.post("/admin/audit/verify", csrf=False)).status_code in (400, 403)
    assert await scalar(database_url, "SELECT count(*) FROM audit_verification") == 0
    checked = await admin.post("/admin/audit/verify")
    assert checked.status_code == 303 and checked.headers["Location"] == "/admin/audit"
    assert await scalar(database_url, "SELECT bool_and(ok) FROM audit_verification") is True
    body = await text(await admin.get("/admin/audit"))
    assert "Tamper check done: the audit log is intact" in body  # the flash, once
    line = body.split(LINE_START, 1)[1].split("</p>", 1)[0].strip()
    assert line.startswith("last verified ") and "— intact (" in line


async def test_intact(viewer: Browser, database_url: str) -> None:
    await add_events(database_url, 1234)
    events = (await verify(database_url)).events  # and the viewer's sign-in
    assert events == await scalar(database_url, "SELECT count(*) FROM audit_event") > 1234
    line = await tamper_line(viewer)
    assert line == f"last verified 27 Nov 2026, 12:00 — intact ({events:,} events)."


async def test_a_problem_names_the_event_and_whom_to_call(
    viewer: Browser, database_url: str
) -> None:
    ids = await add_events(database_url, 3)
    await verify(database_url)
    await tamper(database_url, f"UPDATE audit_event SET username = 'x' WHERE id = {ids[1]}")
    await verify(database_url, NOW.replace(hour=14, minute=5))
    body = await text(await viewer.get("/admin/audit"))
    assert 'class="flash flash--error tamper-check" id="tamper-check" role="alert"' in body
    assert await tamper_line(viewer) == (
        f"last verified 27 Nov 2026, 14:05 — problem found at event {ids[1]} (altered). "
        "Contact your operator."
    )


async def test_a_problem_without_an_event_says_what_it_is(
    viewer: Browser, database_url: str
) -> None:
    ids = await add_events(database_url, 3)
    await verify(database_url)
    await tamper(
        database_url,
        f"DELETE FROM audit_event WHERE id = {ids[1]}",
        f"DELETE FROM audit_seal WHERE event_id = {ids[1]}",
    )
    await verify(database_url)
    line = await tamper_line(viewer)
    assert line.startswith("last verified 27 Nov 2026, 12:00 — problem found: events removed")
    assert line.endswith("Contact your operator.")


async def test_htmx_filtering_leaves_the_line_alone(viewer: Browser) -> None:
    body = await text(await viewer.get("/admin/audit", htmx=True, event="sign_in"))
    assert "Tamper check" not in body
