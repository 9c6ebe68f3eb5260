from quart import Quart
from sqlmodel import col, select

from portal.audit_models import AuditEvent
from portal.auth.models import AuthSession
from portal.models import Staff
from tests.admin.browser import STAFF_PASSWORD, Browser, add_staff, cookie, text
from tests.conftest import FakeClock
from tests.flows import Inputs, add_member, sign_in, unit_of_work


async def events(database_url: str, name: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as s:
        query = select(AuditEvent).where(col(AuditEvent.event) == name).order_by(col(AuditEvent.id))
        return list(await s.exec(query))


async def test_the_sign_in_page_has_email_and_password_with_autocomplete(
    anonymous: Browser,
) -> None:
    response = await anonymous.open_sign_in()
    body = await text(response)
    assert response.status_code == 200
    assert 'name="email"' in body and 'autocomplete="username"' in body
    assert 'name="password"' in body and 'autocomplete="current-password"' in body
    assert anonymous.csrf


async def test_signing_in_opens_the_dashboard_and_is_audited(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    await add_staff(database_url, "jo@example.org", "admin")
    browser = Browser(app)
    response = await browser.sign_in("JO@example.org ")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    assert (await browser.get("/admin/")).status_code == 200
    [event] = await events(database_url, "staff.sign_in")
    assert (event.outcome, event.staff_email) == ("success", "jo@example.org")
    async with unit_of_work(database_url) as s:
        staff = (await s.exec(select(Staff))).one()
    assert staff.last_sign_in_at == clock.current


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    app: Quart, database_url: str
) -> None:
    await add_staff(database_url, "jo@example.org", "admin")
    browser = Browser(app)
    wrong = await browser.sign_in("jo@example.org", "not the password")
    unknown = await browser.sign_in("nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or password is not right." in await text(wrong)
    assert (await browser.get("/admin/")).status_code == 303
    reasons = [e.details["reason"] for e in await events(database_url, "staff.sign_in")]
    assert reasons == ["wrong_password", "unknown_user"]


async def test_sign_in_is_throttled_even_for_the_right_password(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    await add_staff(database_url, "jo@example.org", "admin")
    browser = Browser(app)
    for _ in range(5):
        assert (await browser.sign_in("jo@example.org", "wrong password")).status_code == 401
    response = await browser.sign_in("jo@example.org", "wrong password")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert (await browser.sign_in("jo@example.org")).status_code == 429
    clock.advance(minutes=2)
    assert (await browser.sign_in("jo@example.org")).status_code == 303


async def test_a_disabled_account_cannot_sign_in(app: Quart, database_url: str) -> None:
    await add_staff(database_url, "jo@example.org", "admin")
    async with unit_of_work(database_url) as s:
        staff = (await s.exec(select(Staff))).one()
        staff.enabled = False
        s.add(staff)
    response = await Browser(app).sign_in("jo@example.org")
    assert response.status_code == 401
    assert [e.details["reason"] for e in await events(database_url, "staff.sign_in")] == [
        "disabled"
    ]


async def test_next_goes_back_to_a_dashboard_page_only(app: Quart, database_url: str) -> None:
    await add_staff(database_url, "jo@example.org", "admin")
    anonymous = Browser(app)
    response = await anonymous.get("/admin/audit", event="sign_in")
    assert response.headers["Location"] == "/admin/sign-in?next=/admin/audit%3Fevent%3Dsign_in"
    for given, lands in [
        ("/admin/audit?event=sign_in", "/admin/audit?event=sign_in"),
        ("https://evil.example/admin", "/admin/"),
        ("//evil.example/admin", "/admin/"),
        ("/admin//evil.example", "/admin/"),
        ("/admin\\@evil.example", "/admin/"),
        ("/sso/signin", "/admin/"),
    ]:
        browser = Browser(app)
        await browser.open_sign_in()
        form = {"email": "jo@example.org", "password": STAFF_PASSWORD, "next": given}
        response = await browser.post("/admin/sign-in", form)
        assert response.headers["Location"] == lands, given


async def test_a_member_session_never_opens_the_dashboard(app: Quart, database_url: str) -> None:
    await add_member(database_url)
    member = app.test_client()
    assert (await sign_in(member)).status_code == 303
    response = await member.get("/admin/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/sign-in")
    # Not even with the member's cookie value under the staff cookie's name.
    member.set_cookie("localhost", "portal_staff", cookie(member, "portal_member"))
    assert (await member.get("/admin/")).status_code == 303


async def test_signing_out_ends_the_session_on_the_server(admin: Browser) -> None:
    copied = cookie(admin.client, "portal_staff")
    response = await admin.post("/admin/sign-out")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/sign-in"
    admin.client.set_cookie("localhost", "portal_staff", copied)
    assert (await admin.get("/admin/")).status_code == 303


async def test_an_idle_session_times_out(
    admin: Browser, clock: FakeClock, database_url: str
) -> None:
    clock.advance(minutes=29)
    assert (await admin.get("/admin/")).status_code == 200
    clock.advance(minutes=31)
    assert (await admin.get("/admin/")).status_code == 303
    [expired] = await events(database_url, "session.expired")
    assert expired.staff_email == "admin@example.org"  # whose session it was
    assert expired.details == {"reason": "idle_timeout", "kind": "staff"}


async def test_a_new_sign_in_replaces_the_old_session(admin: Browser, database_url: str) -> None:
    form = {"email": "admin@example.org", "password": STAFF_PASSWORD}
    assert (await admin.post("/admin/sign-in", form)).status_code == 303
    async with unit_of_work(database_url) as s:
        rows = list(await s.exec(select(AuthSession).order_by(col(AuthSession.id))))
    assert [r.end_reason for r in rows] == ["replaced", None]


async def test_htmx_without_a_session_is_sent_to_the_sign_in_page(anonymous: Browser) -> None:
    await anonymous.open_sign_in()
    response = await anonymous.get("/admin/vendors", htmx=True)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/admin/sign-in?next=/admin/vendors")
    response = await anonymous.post("/admin/vendors/acme/disable", htmx=True)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/admin/sign-in"


async def test_a_viewer_is_refused_changes_with_a_clear_page(viewer: Browser) -> None:
    response = await viewer.post("/admin/vendors", {"key": "acme"})
    assert response.status_code == 403
    body = await text(response)
    assert "Only admins can make changes" in body
    assert "Nothing was changed. As a viewer you can see" in body


async def test_the_viewer_sees_no_change_buttons(viewer: Browser) -> None:
    body = await text(await viewer.get("/admin/vendors"))
    assert "Add vendor" not in body
    assert "Staff" not in [link for link in Inputs(body).forms]
    assert 'href="/admin/staff"' not in body
