from quart import Quart
from sqlmodel import col, select

from portal.auth.models import AuthSession
from portal.outbox.models import OutboxItem
from tests.admin.browser import Browser, text
from tests.admin.test_member_views import member_id
from tests.admin.test_vendor_views import audit_events
from tests.flows import add_member, add_vendor, redeem, sign_in, token_for, unit_of_work
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


async def test_the_member_page_lists_each_session_with_its_sites_and_an_end_button(
    app: Quart, admin: Browser, viewer: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    await add_vendor(database_url, key="careerhub", name="CareerHub Jobs", domain="careerhub.io")
    await add_member(database_url)
    await signed_in_member(app, database_url, "acme", "careerhub")
    await signed_in_member(app, database_url)
    ada = await member_id(database_url)
    one, two = await member_sessions(database_url)
    body = await text(await admin.get(f"/admin/members/{ada}"))
    sessions = body.split('data-testid="member-sessions"')[1].split("</ul>")[0]
    first, second = sessions.split('data-testid="member-session"')[1:]  # newest first
    assert "none yet" in first and f"/sessions/{two.id}/revoke" in first
    assert "Acme Learning</a>, <a" in second and "CareerHub Jobs</a>" in second
    assert f'action="/admin/members/{ada}/sessions/{one.id}/revoke"' in second
    viewing = await text(await viewer.get(f"/admin/members/{ada}"))
    assert "CareerHub Jobs</a>" in viewing and "/revoke" not in viewing  # a viewer sees, no End


async def test_ending_a_session_from_the_member_page_tells_the_sites_it_reached(
    app: Quart, admin: Browser, database_url: str
) -> None:
    told = "https://acme-learning.com/sso/backchannel-logout"
    acme = await add_vendor(database_url, backchannel_logout_url=told)
    await add_member(database_url)
    first = await signed_in_member(app, database_url)
    await redeem(first, acme, await token_for(first, vendor="acme"))
    second = await signed_in_member(app, database_url, "acme")
    one, two = await member_sessions(database_url)
    ada = await member_id(database_url)
    response = await admin.post(
        f"/admin/members/{ada}/sessions/{one.id}/revoke", {"back": f"/admin/members/{ada}"}
    )
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/members/{ada}"
    assert "Session ended. That browser is signed out." in await text(
        await admin.get(f"/admin/members/{ada}")
    )
    assert (await first.get("/sso/signin", query_string={"vendor": "acme"})).status_code == 303
    assert (await second.get("/sso/signin", query_string={"vendor": "acme"})).status_code == 200
    ended, alive = await member_sessions(database_url)
    assert (ended.end_reason, alive.ended_at) == ("revoked", None)
    async with unit_of_work(database_url) as s:
        notices = list(await s.exec(select(OutboxItem).where(OutboxItem.kind == "logout")))
    # Acme Learning is told, through the outbox, of that session's end only (single logout).
    assert [n.session_id for n in notices] == [one.id]
    [event] = await audit_events(database_url, "session.revoked")
    assert (event.details["session"], event.member_id, event.staff_email) == (
        one.id, ada, "admin@example.org",
    )  # fmt: skip

    # A second press (the page was open twice) finds it ended: nothing more happens.
    again = await admin.post(f"/admin/members/{ada}/sessions/{one.id}/revoke")
    assert again.status_code == 303
    assert "That session had already ended; nothing changed." in await text(
        await admin.get(f"/admin/members/{ada}")
    )
    assert len(await audit_events(database_url, "session.revoked")) == 1
    assert len(notices) == 1 and two.id != one.id


async def test_another_members_session_is_not_ended_from_this_members_page(
    app: Quart, admin: Browser, viewer: Browser, database_url: str
) -> None:
    await add_member(database_url)
    await add_member(database_url, imis_id="102", username="grace", email="g@example.org")
    ada, grace = await member_id(database_url), await member_id(database_url, "grace")
    browser = app.test_client()
    assert (await sign_in(browser, "grace")).status_code == 303
    [graces] = await member_sessions(database_url)
    refused = await admin.post(f"/admin/members/{ada}/sessions/{graces.id}/revoke")
    assert refused.status_code == 404
    assert (
        await viewer.post(f"/admin/members/{grace}/sessions/{graces.id}/revoke")
    ).status_code == 403
    assert (await admin.post(f"/admin/members/{ada}/sessions/999999/revoke")).status_code == 404
    [still] = await member_sessions(database_url)
    assert still.ended_at is None
    assert await audit_events(database_url, "session.revoked") == []
