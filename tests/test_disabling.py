"""Disabling an account through the app (portal/disabling.py): a member keeps no session, no
password link and no OpenID Connect grant, and enabling them again revives none of it; a staff
account keeps no session and no set-password link; a link that survived a disabling anyway
sets no password and starts no session."""

from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from portal import audit, members, staff
from portal.audit_models import AuditEvent
from portal.auth import reset_links
from portal.auth.models import AuthSession
from portal.directory import imis_directory, local
from portal.directory.imis import ImisProfile
from portal.models import AccountLink, Member, id_of
from portal.oidc.models import OidcGrant
from tests.admin.browser import Browser, add_staff
from tests.conftest import FakeClock
from tests.flows import PASSWORD, VendorLogin, csrf_of, sign_in, unit_of_work
from tests.oidc.oidc_flows import Pkce, add_oidc_vendor, authorize_query, basic, redirect_params
from tests.oidc.test_userinfo_and_logout import tokens_for

pytestmark = pytest.mark.usefixtures("ada")
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def learn(database_url: str) -> VendorLogin:
    return await add_oidc_vendor(database_url)


@pytest.fixture
async def admin(app: Quart, database_url: str) -> Browser:
    await add_staff(database_url, "admin@example.org", "admin")
    browser = Browser(app)
    assert (await browser.sign_in("admin@example.org")).status_code == 303
    return browser


async def link_for(database_url: str, clock: FakeClock, login: str = "ada") -> str:
    """A reset link of a member, or a set-password link of a staff account (an email), as the
    emails carry them."""
    async with unit_of_work(database_url) as db:
        account = await members.find_member(db, login) or await staff.select_staff_by_email(
            db, login
        )
        assert account is not None
        purpose: reset_links.Purpose = "reset" if isinstance(account, Member) else "staff_password"
        return await reset_links.issue(db, account, purpose, now=clock.current)


async def events(database_url: str, name: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as db:
        query = select(AuditEvent).where(AuditEvent.event == name).order_by(col(AuditEvent.id))
        return list(await db.exec(query))


async def choose_password(client: Client, path: str) -> Any:
    """Open a link's page and, when it offers the form, submit a new password."""
    page = await client.get(path)
    if page.status_code != 200:
        return page
    form = {"csrf_token": csrf_of(await page.get_data(as_text=True))}
    return await client.post(path, form={**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})


async def what_works(
    client: Client, learn: VendorLogin, tokens: dict[str, Any], link: str
) -> dict[str, object]:
    """What each thing the member held gives: UserInfo with the access token, a refresh, the
    reset link's page (HTTP statuses), and the browser's portal session (a silent sign-in)."""
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    renewed = await client.post("/oidc/token", form=refresh, headers=basic(learn))
    silent = authorize_query(Pkce.new(), prompt="none")
    answer = await client.get("/oidc/authorize", query_string=silent)
    return {
        "userinfo": (await client.get("/oidc/userinfo", headers=bearer)).status_code,
        "refresh": renewed.status_code,
        "link": (await client.get(f"/password/reset/{link}")).status_code,
        "session": "code" in redirect_params(answer.headers["Location"]),
    }


async def test_a_disabled_member_keeps_nothing_and_enabling_revives_nothing(
    app: Quart, admin: Browser, learn: VendorLogin, database_url: str, clock: FakeClock
) -> None:
    browser = app.test_client()
    await sign_in(browser)
    tokens = await tokens_for(browser, learn, scope="openid offline_access")
    link = await link_for(database_url, clock)
    working = await what_works(browser, learn, tokens, link)  # (its refresh spends the token)
    tokens = await tokens_for(browser, learn, scope="openid offline_access")
    ada = (await members_ids(database_url))["ada"]

    assert (await admin.post(f"/admin/members/{ada}/disable")).status_code == 303
    [disabled] = await events(database_url, "member.disabled")
    assert disabled.staff_email == "admin@example.org"
    withdrawn = ("sessions_ended", "links_voided", "grants_revoked")
    assert [disabled.details[name] for name in withdrawn] == [1, 1, 3]
    async with unit_of_work(database_url) as db:
        reasons = set((await db.exec(select(OidcGrant.revoke_reason))).all())
        voided = (await db.exec(select(AccountLink.voided_at))).one()
    assert reasons == {"member_disabled"} and voided == clock.current
    gone = await what_works(browser, learn, tokens, link)
    [refused] = await events(database_url, "oidc.token_rejected")
    assert refused.details["reason"] == "revoked"

    assert (await admin.post(f"/admin/members/{ada}/enable")).status_code == 303
    assert await what_works(browser, learn, tokens, link) == gone
    assert working == {"userinfo": 200, "refresh": 200, "link": 200, "session": True}
    assert gone == {"userinfo": 401, "refresh": 400, "link": 410, "session": False}
    assert (await sign_in(app.test_client())).status_code == 303  # a fresh sign-in works


async def members_ids(database_url: str) -> dict[str, int]:
    async with unit_of_work(database_url) as db:
        rows = await db.execute(text("SELECT username, id FROM member"))
        return {username: ident for username, ident in rows.all()}


async def test_a_link_that_survived_a_disabling_sets_no_password_and_starts_no_session(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    link = await link_for(database_url, clock)
    async with unit_of_work(database_url) as db:  # disabled by other means than the dashboard
        await db.execute(text("UPDATE member SET enabled = false"))
    browser = app.test_client()
    page = await browser.get(f"/password/reset/{link}")
    assert page.status_code == 403
    assert "Your account is disabled" in await page.get_data(as_text=True)
    form = {"csrf_token": csrf_of(await (await browser.get("/sign-in")).get_data(as_text=True))}
    sent = await browser.post(
        f"/password/reset/{link}", form={**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert sent.status_code == 403 and "contact Example Association" in await sent.get_data(
        as_text=True
    )
    [refused] = await events(database_url, "password.reset")
    assert (refused.outcome, refused.details["reason"]) == ("failure", "disabled")
    assert refused.member_id == (await members_ids(database_url))["ada"]
    async with unit_of_work(database_url) as db:
        assert (await db.exec(select(AuthSession))).all() == []
        await db.execute(text("UPDATE member SET enabled = true"))
    assert (await sign_in(app.test_client(), password=PASSWORD)).status_code == 303  # unchanged


async def test_disabling_staff_ends_their_sessions_and_voids_their_password_link(
    app: Quart, admin: Browser, database_url: str, clock: FakeClock
) -> None:
    sam_id = await add_staff(database_url, "sam@example.org", "viewer")
    sam = Browser(app)
    await sam.sign_in("sam@example.org")
    link = await link_for(database_url, clock, "sam@example.org")
    assert (await app.test_client().get(f"/staff/password/{link}")).status_code == 200

    assert (await admin.post(f"/admin/staff/{sam_id}/disable")).status_code == 303
    [disabled] = await events(database_url, "staff.disabled")
    assert (disabled.details["sessions_ended"], disabled.details["links_voided"]) == (1, 1)
    assert "grants_revoked" not in disabled.details
    assert (await sam.get("/admin/")).status_code == 303
    assert (await admin.post(f"/admin/staff/{sam_id}/enable")).status_code == 303
    after = await choose_password(app.test_client(), f"/staff/password/{link}")
    assert after.status_code == 410
    assert (await sam.get("/admin/")).status_code == 303


async def test_a_staff_link_that_survived_a_disabling_is_refused_with_its_reason(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    await add_staff(database_url, "sam@example.org", "viewer")
    link = await link_for(database_url, clock, "sam@example.org")
    async with unit_of_work(database_url) as db:
        await db.execute(text("UPDATE staff SET enabled = false"))
    client = app.test_client()
    page = await client.get(f"/staff/password/{link}")
    assert page.status_code == 403 and "Ask an admin" in await page.get_data(as_text=True)
    sign_in_page = await client.get("/admin/sign-in")
    form = {"csrf_token": csrf_of(await sign_in_page.get_data(as_text=True))}
    form["password"] = NEW_PASSWORD
    sent = await client.post(f"/staff/password/{link}", form={**form, "confirm": NEW_PASSWORD})
    assert sent.status_code == 403
    [refused] = await events(database_url, "staff.password_set_by_link")
    assert (refused.outcome, refused.details) == (
        "failure",
        {"reason": "disabled", "staff": "sam@example.org"},
    )


async def test_a_disabled_member_is_not_invited(
    app: Quart, admin: Browser, database_url: str
) -> None:
    async with unit_of_work(database_url) as db:
        await db.execute(text("UPDATE member SET enabled = false, password_hash = NULL"))
    ada = (await members_ids(database_url))["ada"]
    response = await admin.post(f"/admin/members/{ada}/invite", htmx=True)
    assert response.status_code == 422
    assert "disabled" in await response.get_data(as_text=True)
    assert await events(database_url, "member.invited") == []


async def disable_ada(database_url: str, clock: FakeClock) -> None:
    """Disable ada from a transaction of its own, which waits for a lock at most 100 ms."""
    async with unit_of_work(database_url) as db:
        await db.execute(text("SET LOCAL lock_timeout = '100ms'"))
        member = await members.find_member(db, "ada")
        assert member is not None
        await members.disable(db, member, now=clock.current, by=audit.Actor(via="cli"))


async def a_disabling_waits(database_url: str, clock: FakeClock) -> None:
    """A disabling, from another transaction, waits for the one in hand (here it gives up)."""
    with pytest.raises(DBAPIError, match="lock timeout"):
        await disable_ada(database_url, clock)


async def test_a_disabling_waits_for_a_sign_in_that_is_settling(
    database_url: str, clock: FakeClock
) -> None:
    """The settle holds the account's row until its session has started, so a disabling at that
    moment ends that session too (or, first, makes the settle see the account disabled)."""
    async with unit_of_work(database_url) as db:
        ada = await members.find_member(db, "ada")
        assert ada is not None
        proof = local.PasswordProof(id_of(ada), upgraded_hash=None)
    async with unit_of_work(database_url) as signing_in:
        assert await local.settle_password(signing_in, Member, proof, clock.current) is not None
        await a_disabling_waits(database_url, clock)


async def test_a_disabling_waits_for_an_imis_sign_in_that_is_settling(
    database_url: str, clock: FakeClock
) -> None:
    profile = ImisProfile("101", "ada", {"MemberStatus": "A"})
    async with unit_of_work(database_url) as signing_in:
        assert (await imis_directory.refresh(signing_in, profile, clock.current)).enabled
        await a_disabling_waits(database_url, clock)
