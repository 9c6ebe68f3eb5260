"""Portal sessions: server-side rows behind quart-auth cookies, timeouts, fixation, flags."""

import pytest
from quart import Quart
from sqlalchemy import text

from portal.settings import Settings
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
        assert list(reasons) == ["replaced", None]


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


async def test_an_ended_session_voids_its_tokens_but_not_redeemed_ones(
    app: Quart, acme: VendorLogin, clock: FakeClock
) -> None:
    client = await signed_in(app)
    token = await token_for(client, **SSO)
    clock.advance(minutes=31)
    assert not await still_signed_in(client)  # expiry ends the session and voids the token
    assert (await redeem(client, acme, token)).status_code == 400


async def test_a_members_session_never_opens_staff_pages(app: Quart) -> None:
    client = await signed_in(app)
    cookies = {c.name for c in client.cookie_jar}  # type: ignore[attr-defined]
    assert "portal_staff" not in cookies
