"""What a token gives: the granted scope in every token answer (RFC 6749 §3.3), narrowed by a
refresh that asks for less (§6), and never more than the vendor may have today — a scope staff
take away reaches the grants the vendor already holds, at refresh and at UserInfo."""

import pytest
from quart import Quart

from portal import vendors
from tests.flows import VendorLogin, sign_in, unit_of_work
from tests.oidc.oidc_flows import bearer, reasons, refresh, tokens_for

pytestmark = pytest.mark.usefixtures("ada")
SCOPE = "openid profile email offline_access"


async def allow(database_url: str, scopes: str) -> None:
    """What staff tick under "What the site may ask for"."""
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "learn")
        vendor.scopes = scopes
        session.add(vendor)


async def test_a_scope_taken_from_the_vendor_reaches_the_tokens_it_holds(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    issued = await tokens_for(client, learn, SCOPE)
    assert issued["scope"] == SCOPE
    await allow(database_url, "openid profile")

    info = await client.get("/oidc/userinfo", headers=bearer(issued["access_token"]))
    assert set(await info.get_json()) == {"sub", "given_name", "family_name"}
    renewed = await (await refresh(client, learn, issued["refresh_token"])).get_json()
    assert renewed["scope"] == "openid profile offline_access"
    info = await client.get("/oidc/userinfo", headers=bearer(renewed["access_token"]))
    assert "email" not in await info.get_json()

    # Given back, it is there again: the member's grant held it all along.
    await allow(database_url, "openid profile email")
    again = await (await refresh(client, learn, renewed["refresh_token"])).get_json()
    assert again["scope"] == SCOPE


async def test_a_refresh_may_ask_for_less_for_its_access_token(
    app: Quart, learn: VendorLogin
) -> None:
    client = app.test_client()
    await sign_in(client)
    issued = await tokens_for(client, learn, SCOPE)
    narrowed = await (
        await refresh(client, learn, issued["refresh_token"], scope="email openid")
    ).get_json()
    assert narrowed["scope"] == "openid email"
    info = await client.get("/oidc/userinfo", headers=bearer(narrowed["access_token"]))
    assert set(await info.get_json()) == {"sub", "email", "email_verified"}
    # The new refresh token still carries the whole grant (RFC 6749 §6), and `openid` stays.
    whole = await (await refresh(client, learn, narrowed["refresh_token"])).get_json()
    assert whole["scope"] == SCOPE
    bare = await (await refresh(client, learn, whole["refresh_token"], scope="email")).get_json()
    assert bare["scope"] == "openid email"


async def test_a_refresh_asking_for_more_is_invalid_scope_and_uses_nothing(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    issued = await tokens_for(client, learn, "openid email offline_access")
    more = await refresh(client, learn, issued["refresh_token"], scope="openid phone")
    assert more.status_code == 400
    assert (await more.get_json())["error"] == "invalid_scope"
    assert await reasons(database_url, "oidc.token_rejected") == ["invalid_scope"]
    assert (await refresh(client, learn, issued["refresh_token"])).status_code == 200
