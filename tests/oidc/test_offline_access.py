"""Offline access (OpenID Connect Core §11, docs/oidc.md): a refresh token issued for
`offline_access` outlives the portal session's idle and absolute timeouts, with a lifetime of its
own renewed at each use; signing out, staff ending the member's sessions, a disabled member and
the vendor's refresh switch revoke it. A refresh token from before offline access keeps its rule."""

import json
from typing import Any

import pytest
from joserfc import jws
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import update
from sqlmodel import select

from portal import retention
from portal.auth.models import AuthSession
from portal.models import Member, Vendor
from portal.oidc.models import OidcGrant, OidcToken
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff
from tests.conftest import FakeClock, running_app
from tests.flows import VendorLogin, csrf_of, sign_in, unit_of_work
from tests.oidc.oidc_flows import (
    Pkce,
    authorize_query,
    bearer,
    grant_row,
    reasons,
    refresh,
    tokens_for,
)

pytestmark = pytest.mark.usefixtures("ada")
OFFLINE = "openid profile offline_access"


@pytest.fixture
async def admin(app: Quart, database_url: str) -> Browser:
    """A staff admin's browser, not signed in yet."""
    await add_staff(database_url, "admin@example.org", "admin")
    return Browser(app)


async def offline_tokens(client: Client, learn: VendorLogin) -> dict[str, Any]:
    await sign_in(client)
    return await tokens_for(client, learn, OFFLINE)


async def timed_out(client: Client, clock: FakeClock) -> None:
    """The member leaves the browser for 31 minutes; when it next reaches the portal, the
    session is found idle and ends (its vendors are told)."""
    clock.advance(minutes=31)
    answer = await client.get("/oidc/authorize", query_string=authorize_query(Pkce.new()))
    assert answer.headers["Location"].startswith("/sign-in?")


def sid_of(id_token: str) -> str:
    return str(json.loads(jws.extract_compact(id_token.encode()).payload)["sid"])


async def test_offline_access_outlives_the_session_timing_out(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    client = app.test_client()
    issued = await offline_tokens(client, learn)
    await timed_out(client, clock)
    async with unit_of_work(database_url) as session:
        ended = await session.get(AuthSession, 1)
        assert ended is not None and ended.end_reason == "idle_timeout"

    renewed = await refresh(client, learn, issued["refresh_token"])
    assert renewed.status_code == 200, await renewed.get_json()
    body = await renewed.get_json()
    assert body["scope"] == OFFLINE and body["refresh_token"]
    info = await client.get("/oidc/userinfo", headers=bearer(body["access_token"]))
    assert (await info.get_json())["given_name"] == "Ada"
    assert sid_of(body["id_token"]) == sid_of(issued["id_token"])  # the session signed in with


async def test_offline_access_lasts_its_days_unused_and_each_use_renews_them(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    client = app.test_client()
    current = (await offline_tokens(client, learn))["refresh_token"]
    for _ in range(2):  # past the session's 12 hours, and past the first token's 30 days
        clock.advance(days=29)
        renewed = await refresh(client, learn, current)
        assert renewed.status_code == 200
        current = (await renewed.get_json())["refresh_token"]
    clock.advance(days=30)  # PORTAL_OIDC_OFFLINE_DAYS unused
    assert (await refresh(client, learn, current)).status_code == 400
    assert await reasons(database_url, "oidc.token_rejected") == ["expired"]


async def test_signing_out_revokes_offline_access(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    issued = await offline_tokens(client, learn)
    home = await client.get("/")
    out = await client.post("/sign-out", form={"csrf_token": csrf_of(await home.get_data(True))})
    assert out.status_code == 303
    assert (await refresh(client, learn, issued["refresh_token"])).status_code == 400
    assert await reasons(database_url, "oidc.token_rejected") == ["revoked"]
    assert (await grant_row(database_url)).revoke_reason == "sign_out"
    info = await client.get("/oidc/userinfo", headers=bearer(issued["access_token"]))
    assert info.status_code == 401


async def test_staff_ending_all_sessions_revoke_offline_access_of_a_session_long_gone(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str, admin: Browser
) -> None:
    client = app.test_client()
    issued = await offline_tokens(client, learn)
    await timed_out(client, clock)
    await admin.sign_in("admin@example.org")
    page = await (await admin.get("/admin/members/1")).get_data(as_text=True)
    assert "Learn Academy" in page and "End all sessions" in page
    ended = await admin.post("/admin/members/1/sessions/revoke", {"back": "/admin/members/1"})
    assert ended.status_code == 303
    assert (await refresh(client, learn, issued["refresh_token"])).status_code == 400
    assert await reasons(database_url, "oidc.token_rejected") == ["revoked"]
    assert (await grant_row(database_url)).revoke_reason == "revoked"


async def set_refresh_switch(admin: Browser, on: bool) -> None:
    """Staff save the sign-in method, with "Keep members signed in for longer" as given."""
    form = {
        "protocol": "oidc",
        "redirect_uris": "https://learn.example.org/callback",
        "client_type": "confidential",
        "scopes": "profile",
        **({"refresh_tokens": "on"} if on else {}),
    }
    assert (await admin.post("/admin/vendors/learn/sign-in-method", form)).status_code == 303


async def test_turning_the_refresh_switch_off_revokes_offline_access_for_good(
    app: Quart, learn: VendorLogin, database_url: str, admin: Browser
) -> None:
    client = app.test_client()
    issued = await offline_tokens(client, learn)
    await admin.sign_in("admin@example.org")
    await set_refresh_switch(admin, on=False)
    await set_refresh_switch(admin, on=True)
    assert (await refresh(client, learn, issued["refresh_token"])).status_code == 400
    assert (await grant_row(database_url)).revoke_reason == "refresh_off"


async def switch(database_url: str, on: bool) -> None:
    async with unit_of_work(database_url) as session:
        await session.exec(update(Vendor).values(refresh_tokens=on))


async def test_no_refresh_token_works_while_the_switch_is_off(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    """Whoever turned it off (the flag alone, as any writer leaves it): the refresh is refused,
    audited, and the grant revoked, so turning it on again brings nothing back."""
    client = app.test_client()
    issued = await offline_tokens(client, learn)
    await switch(database_url, on=False)
    refused = await refresh(client, learn, issued["refresh_token"])
    assert (refused.status_code, (await refused.get_json())["error"]) == (400, "invalid_grant")
    await switch(database_url, on=True)
    assert (await refresh(client, learn, issued["refresh_token"])).status_code == 400
    assert await reasons(database_url, "oidc.token_rejected") == ["refresh_off", "revoked"]


async def test_a_disabled_member_loses_offline_access(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    client = app.test_client()
    issued = await offline_tokens(client, learn)
    await timed_out(client, clock)
    async with unit_of_work(database_url) as session:
        await session.exec(update(Member).values(enabled=False))
    assert (await refresh(client, learn, issued["refresh_token"])).status_code == 400
    assert await reasons(database_url, "oidc.token_rejected") == ["member_disabled"]


async def test_a_refresh_token_from_before_offline_access_ends_with_its_session(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    """A grant made before offline access existed (the migration leaves it not offline) keeps
    its rule: its refresh tokens work while the session lives, and end with it."""
    client = app.test_client()
    issued = await offline_tokens(client, learn)
    async with unit_of_work(database_url) as session:
        await session.exec(update(OidcGrant).values(offline=False))
    renewed = await (await refresh(client, learn, issued["refresh_token"])).get_json()
    await timed_out(client, clock)
    assert (await refresh(client, learn, renewed["refresh_token"])).status_code == 400
    assert await reasons(database_url, "oidc.token_rejected") == ["session_ended"]


async def test_retention_keeps_the_session_while_its_offline_access_lasts(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    client = app.test_client()
    current = (await offline_tokens(client, learn))["refresh_token"]
    await timed_out(client, clock)
    policy = retention.Policy.from_settings(Settings(env="development"))
    for _ in range(3):  # 87 days, past the ended session's 30 days of retention
        clock.advance(days=29)
        current = (await (await refresh(client, learn, current)).get_json())["refresh_token"]
        async with unit_of_work(database_url) as session:
            deleted = await retention.purge(session, now=clock.current, policy=policy)
        assert deleted is not None and deleted["auth_session"] == 0
    assert deleted["oidc_token"] > 0  # the spent tokens of the first months
    clock.advance(days=31)  # unused since: the grant is over, and its session can go
    async with unit_of_work(database_url) as session:
        deleted = await retention.purge(session, now=clock.current, policy=policy)
        assert deleted is not None and deleted["auth_session"] == 1
        assert (await session.exec(select(OidcToken))).all() == []


async def test_the_offline_days_are_a_setting(
    settings: Settings, clock: FakeClock, learn: VendorLogin
) -> None:
    async with running_app(settings, clock, oidc_offline_days=2) as app:
        client = app.test_client()
        issued = await offline_tokens(client, learn)
        clock.advance(days=2, seconds=-1)
        renewed = await refresh(client, learn, issued["refresh_token"])
        assert renewed.status_code == 200
        clock.advance(days=2)
        stale = await refresh(client, learn, (await renewed.get_json())["refresh_token"])
        assert stale.status_code == 400
