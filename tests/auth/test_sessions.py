"""Sessions end to end (portal/auth/sessions.py, portal/session_cookies.py): server-side rows
behind quart-auth cookies, timeouts, fixation, flags."""

import pytest
from quart import Quart
from sqlalchemy import text

from portal.settings import Settings
from tests.admin.browser import Browser, add_staff
from tests.conftest import TEST_SECRET_KEY, FakeClock, running_app
from tests.flows import PASSWORD, VendorLogin, page, redeem, sign_in, token_for, unit_of_work

SSO = {"vendor": "acme"}
pytestmark = pytest.mark.usefixtures("ada", "acme")


async def signed_in(app: Quart) -> object:
    client = app.test_client()
    assert (await sign_in(client)).status_code == 303
    return client


async def still_signed_in(client: object) -> bool:
    response = await client.get("/sso/signin", query_string=SSO)  # type: ignore[attr-defined]
    return bool(response.status_code == 200)


def set_cookies(response: object) -> dict[str, str]:
    headers = response.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    return {header.split("=", 1)[0]: header for header in headers}


async def test_the_cookie_holds_only_a_signed_random_id(app: Quart, database_url: str) -> None:
    client = app.test_client()
    response = await sign_in(client)
    cookie = set_cookies(response)["portal_member"]
    value = cookie.split(";")[0].split("=", 1)[1]
    async with unit_of_work(database_url) as session:
        stored = (await session.execute(text("SELECT id_hash FROM auth_session"))).scalar_one()
    assert "ada" not in value
    assert stored not in value  # the database keeps a hash, the cookie the id
    assert len(stored) == 64


async def test_development_cookie_flags(app: Quart) -> None:
    cookie = set_cookies(await sign_in(app.test_client()))["portal_member"]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path"} <= flags
    assert "samesite=lax" in cookie.lower()
    assert "domain" not in flags
    assert "expires" not in flags and "max-age" not in flags  # ends with the browser session


async def test_production_cookie_is_secure_and_host_prefixed(
    settings: Settings, clock: FakeClock
) -> None:
    production = {
        "env": "production",
        "secret_key": TEST_SECRET_KEY,
        "public_url": "https://sso.example.org",
    }
    async with running_app(settings, clock, **production) as app:
        client = app.test_client()
        response = await sign_in(client)
        cookies = set_cookies(response)
        assert "__Host-portal_member" in cookies
        member_cookie = cookies["__Host-portal_member"].lower()
        assert "; secure" in member_cookie and "; httponly" in member_cookie
        assert "path=/" in member_cookie and "domain" not in member_cookie
        fresh = await app.test_client().get("/sign-in")
        assert "; secure" in set_cookies(fresh)["__Host-portal_csrf"].lower()
        assert fresh.headers["Strict-Transport-Security"].startswith("max-age=31536000")


async def test_a_new_session_id_at_every_sign_in(app: Quart, database_url: str) -> None:
    client = await signed_in(app)
    old = {c.name: c.value for c in client.cookie_jar}  # type: ignore[attr-defined]
    csrf = (await page(await client.get("/"))).hidden["csrf_token"]
    form = {"csrf_token": csrf, "username": "ada", "password": PASSWORD}
    assert (await client.post("/sign-in", form=form)).status_code == 303
    new = {c.name: c.value for c in client.cookie_jar}  # type: ignore[attr-defined]
    assert old["portal_member"] != new["portal_member"]
    planted = app.test_client()
    planted.set_cookie("localhost", "portal_member", old["portal_member"])
    assert not await still_signed_in(planted)
    async with unit_of_work(database_url) as session:
        reasons = (
            await session.execute(text("SELECT end_reason FROM auth_session ORDER BY id"))
        ).scalars()
        # The same member: the session goes on under the new id (no site is signed out).
        assert list(reasons) == [None]


async def test_a_forged_cookie_is_ignored(app: Quart) -> None:
    client = app.test_client()
    client.set_cookie("localhost", "portal_member", "not-a-signed-value")
    assert not await still_signed_in(client)


async def test_idle_timeout(app: Quart, clock: FakeClock, database_url: str) -> None:
    client = await signed_in(app)
    clock.advance(minutes=29)
    assert await still_signed_in(client)
    clock.advance(minutes=29)  # activity above reset the idle clock
    assert await still_signed_in(client)
    clock.advance(minutes=30)
    assert not await still_signed_in(client)
    async with unit_of_work(database_url) as session:
        row = (
            await session.execute(
                text("SELECT details->>'reason' FROM audit_event WHERE event = 'session.expired'")
            )
        ).scalar_one()
    assert row == "idle_timeout"


async def test_absolute_timeout(app: Quart, clock: FakeClock) -> None:
    client = await signed_in(app)
    for _ in range(11 * 3):  # active every 20 minutes for 11 hours
        clock.advance(minutes=20)
        assert await still_signed_in(client)
    clock.advance(hours=1)
    assert not await still_signed_in(client)


async def token_states(database_url: str) -> list[tuple[bool, bool]]:
    """(redeemed, voided) of every token, oldest first."""
    async with unit_of_work(database_url) as session:
        rows = await session.execute(
            text("SELECT redeemed_at IS NOT NULL, voided_at IS NOT NULL FROM sso_token ORDER BY id")
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_signing_out_voids_unredeemed_tokens_but_not_redeemed_ones(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client = await signed_in(app)
    redeemed = await token_for(client, **SSO)
    assert (await redeem(client, acme, redeemed)).status_code == 200
    pending = await token_for(client, **SSO)
    await client.get("/sso/signout", query_string=SSO)  # type: ignore[attr-defined]
    assert (await redeem(client, acme, pending)).status_code == 400  # well within its lifetime
    assert await token_states(database_url) == [(True, False), (False, True)]


async def test_an_idle_timeout_voids_tokens_that_have_not_expired(
    settings: Settings, clock: FakeClock, acme: VendorLogin
) -> None:
    """The session times out long before the token would (1 minute idle, 10-minute tokens)."""
    changes = {"session_idle_minutes": 1, "token_ttl_seconds": 600}
    async with running_app(settings, clock, **changes) as app:
        client = await signed_in(app)
        token = await token_for(client, **SSO)
        clock.advance(minutes=2)
        assert not await still_signed_in(client)  # noticed here: the session ends
        assert (await redeem(client, acme, token)).status_code == 400


async def test_a_members_session_is_no_staff_session(app: Quart) -> None:
    """The member's own session id, in a staff cookie signed with the right key, opens nothing."""
    client = await signed_in(app)
    member_cookie = next(c.value for c in client.cookie_jar if c.name == "portal_member")  # type: ignore[attr-defined]
    raw_id = app.extensions["member_auth"].load_token(member_cookie, app)
    staff_cookie = app.extensions["staff_auth"].dump_token(raw_id, app)
    client.set_cookie("localhost", "portal_staff", staff_cookie)  # type: ignore[attr-defined]
    response = await client.get("/admin/")  # type: ignore[attr-defined]
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/sign-in")


async def test_a_staff_session_is_no_member_session(app: Quart, database_url: str) -> None:
    """The other way round, refused by the core itself (it was a 500: a token for no member)."""
    await add_staff(database_url, "admin@example.org", "admin")
    staff = Browser(app)
    assert (await staff.sign_in("admin@example.org")).status_code == 303
    staff_cookie = next(c.value for c in staff.client.cookie_jar if c.name == "portal_staff")  # type: ignore[attr-defined]
    raw_id = app.extensions["staff_auth"].load_token(staff_cookie, app)
    client = app.test_client()
    member_cookie = app.extensions["member_auth"].dump_token(raw_id, app)
    client.set_cookie("localhost", "portal_member", member_cookie)
    response = await client.get("/sso/signin", query_string=SSO)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/sign-in?")


async def test_only_the_first_token_after_a_sign_in_for_a_vendor_is_not_silent(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    at_home = app.test_client()
    assert (await sign_in(at_home)).status_code == 303  # at the portal itself: no vendor
    for _ in range(9):  # three hours on the portal's pages
        clock.advance(minutes=20)
        await at_home.get("/")
    await token_for(at_home, **SSO)
    for_vendor = app.test_client()
    assert (await sign_in(for_vendor, **SSO)).status_code == 303
    await token_for(for_vendor, **SSO)
    await token_for(for_vendor, **SSO)
    async with unit_of_work(database_url) as session:
        rows = await session.execute(
            text("SELECT details->>'silent' FROM audit_event WHERE event = 'token.issued'")
        )
        assert [row[0] for row in rows] == ["true", "false", "true"]


async def test_a_csrf_token_from_before_the_sign_in_is_worthless_after_it(app: Quart) -> None:
    client = app.test_client()
    old = (await page(await client.get("/sign-in"))).hidden["csrf_token"]
    form = {"csrf_token": old, "username": "ada", "password": PASSWORD}
    assert (await client.post("/sign-in", form=form)).status_code == 303
    assert (await client.post("/sign-out", form={"csrf_token": old})).status_code == 403
    new = (await page(await client.get("/"))).hidden["csrf_token"]
    assert new != old
    assert (await client.post("/sign-out", form={"csrf_token": new})).status_code == 303


async def test_a_form_posted_without_any_cookie_is_refused(app: Quart) -> None:
    client = app.test_client()
    token = (await page(await client.get("/sign-in"))).hidden["csrf_token"]
    cookieless = app.test_client()  # the token alone, as a cross-site form would send it
    form = {"csrf_token": token, "username": "ada", "password": PASSWORD}
    assert (await cookieless.post("/sign-in", form=form)).status_code == 403
