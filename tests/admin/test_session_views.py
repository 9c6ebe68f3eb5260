from quart import Quart
from sqlmodel import col, select

from portal.auth.models import AuthSession
from tests.admin.browser import Browser, text
from tests.admin.test_member_views import member_id
from tests.admin.test_vendor_views import audit_events
from tests.flows import add_member, add_vendor, sign_in, token_for, unit_of_work
from tests.oidc.oidc_flows import add_oidc_vendor, tokens_for


async def signed_in_member(app: Quart, database_url: str, *vendor_keys: str):  # type: ignore[no-untyped-def]
    browser = app.test_client()
    assert (await sign_in(browser)).status_code == 303
    for key in vendor_keys:
        await token_for(browser, vendor=key)
    return browser


async def member_sessions(database_url: str) -> list[AuthSession]:
    async with unit_of_work(database_url) as s:
        query = select(AuthSession).where(col(AuthSession.member_id).is_not(None))
        return list(await s.exec(query.order_by(col(AuthSession.id))))


async def test_active_sessions_show_the_vendors_used(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await add_vendor(database_url, key="careerhub", name="CareerHub Jobs", domain="careerhub.io")
    await add_member(database_url)
    await signed_in_member(app, database_url, "acme", "careerhub", "acme")
    await signed_in_member(app, database_url)
    body = await text(await admin.get("/admin/sessions"))
    assert body.count(">ada</span>") == 2
    assert "Acme Learning</a>, <a" in body and "CareerHub Jobs" in body
    assert "None yet" in body


async def test_a_session_shows_the_sites_it_reached_through_openid_connect(
    app: Quart, admin: Browser, database_url: str
) -> None:
    """Every front end writes the one record of the vendors a session reached."""
    learn = await add_oidc_vendor(database_url)
    await add_member(database_url)
    browser = await signed_in_member(app, database_url)
    await tokens_for(browser, learn)
    body = await text(await admin.get("/admin/sessions"))
    assert "Learn Academy</a>" in body and "None yet" not in body


async def test_ending_one_session_signs_that_browser_out(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await add_member(database_url)
    first = await signed_in_member(app, database_url)
    second = await signed_in_member(app, database_url)
    [one, _] = await member_sessions(database_url)
    response = await admin.post(
        f"/admin/sessions/{one.id}/revoke", {"back": "/admin/sessions"}, htmx=True
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/admin/sessions"
    assert (await first.get("/sso/signin", query_string={"vendor": "acme"})).status_code == 303
    assert (await second.get("/sso/signin", query_string={"vendor": "acme"})).status_code == 200
    [event] = await audit_events(database_url, "session.revoked")
    assert event.details["session"] == one.id


async def test_ending_all_of_a_members_sessions(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    await signed_in_member(app, database_url)
    await signed_in_member(app, database_url)
    ada = await member_id(database_url)
    response = await admin.post(
        f"/admin/members/{ada}/sessions/revoke", {"back": f"/admin/members/{ada}"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/members/{ada}"
    assert [s.end_reason for s in await member_sessions(database_url)] == ["revoked", "revoked"]
    assert "2 sessions of ada ended." in await text(await admin.get(f"/admin/members/{ada}"))
    assert "No active sessions" in await text(await admin.get("/admin/sessions"))


async def test_back_never_leaves_the_dashboard(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    response = await admin.post(
        f"/admin/members/{ada}/sessions/revoke", {"back": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/admin/"


async def test_a_staff_session_is_not_a_member_session(admin: Browser, database_url: str) -> None:
    async with unit_of_work(database_url) as s:
        staff_session = (await s.exec(select(AuthSession.id))).one()
    assert (await admin.post(f"/admin/sessions/{staff_session}/revoke")).status_code == 404
