"""RP-Initiated Logout §2 at /oidc/logout: only a request whose ID token hint names the member's
current portal session signs out at once. Any other — a link on any site, a hint from another
sign-in, a hint the portal did not issue — asks the member first ("Sign out of all sites?"), and
the answer is a form of the portal's, which no other site can post."""

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlmodel import func, select

from portal import vendors
from portal.outbox.models import OutboxItem
from tests.flows import VendorLogin, add_vendor, csrf_of, page, redeem, sign_in, token_for
from tests.flows import unit_of_work as database
from tests.oidc.oidc_flows import POST_LOGOUT_URI, audit_events, confirm_logout
from tests.oidc.test_userinfo_and_logout import tokens_for

pytestmark = pytest.mark.usefixtures("ada")
ASKED = "Sign out of all sites?"


async def notices(database_url: str) -> int:
    async with database(database_url) as session:
        return int((await session.exec(select(func.count()).select_from(OutboxItem))).one())


async def with_back_channel(database_url: str, key: str, domain: str) -> None:
    async with database(database_url) as session:
        vendor = await vendors.get_vendor(session, key)
        url = {"backchannel_logout_url": f"https://{domain}/backchannel"}
        await vendors.set_logout_urls(session, vendor, url, development=True, now=vendor.created_at)


@pytest.fixture
async def told(database_url: str, learn: VendorLogin) -> VendorLogin:
    """An Enhanced vendor beside learn, both told of a sign-out by the back channel."""
    login = await add_vendor(database_url)
    await with_back_channel(database_url, "acme", "acme-learning.com")
    await with_back_channel(database_url, "learn", "learn.example.org")
    return login


async def signed_in_at_both(client: Client, learn: VendorLogin) -> tuple[str, str]:
    """ada, signed in at learn (OpenID Connect) and holding a token for acme (Enhanced)."""
    await sign_in(client)
    access = (await tokens_for(client, learn))["access_token"]
    return access, await token_for(client, vendor="acme")


async def signed_in(client: Client, access: str) -> bool:
    info = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    return info.status_code == 200 and "Hello, Ada" in await (await client.get("/")).get_data(
        as_text=True
    )


CROSS_SITE = {
    "a bare link": {},
    "a link naming the site": {"client_id": "learn", "post_logout_redirect_uri": POST_LOGOUT_URI},
}


@pytest.mark.parametrize("query", CROSS_SITE.values(), ids=CROSS_SITE.keys())
async def test_a_cross_site_logout_without_a_hint_ends_nothing(
    app: Quart, learn: VendorLogin, told: VendorLogin, database_url: str, query: dict[str, str]
) -> None:
    client = app.test_client()
    access, enhanced_token = await signed_in_at_both(client, learn)
    asked = await client.get("/oidc/logout", query_string=query)
    assert asked.status_code == 200 and "Location" not in asked.headers
    assert ASKED in await asked.get_data(as_text=True)
    posted = await client.post("/oidc/logout", form=query)  # the same, POSTed by the site
    assert ASKED in await (await client.get(posted.headers["Location"])).get_data(as_text=True)
    # A forged answer, posted by another site without the page's token, is refused.
    fields = (await page(asked)).hidden
    del fields["csrf_token"]
    assert (await client.post("/oidc/logout/confirm", form=fields)).status_code == 403

    assert await signed_in(client, access)
    assert (await redeem(client, told, enhanced_token)).status_code == 200
    assert await notices(database_url) == 0
    assert await audit_events(database_url, "sign_out") == []
    events = await audit_events(database_url, "oidc.logout_asked")
    assert [(e.details["reason"], e.member_id is not None) for e in events] == [
        ("no_hint", True)
    ] * 2


async def test_the_member_confirms_and_is_signed_out_everywhere(
    app: Quart, learn: VendorLogin, told: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    access, _ = await signed_in_at_both(client, learn)
    query = {"client_id": "learn", "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s1"}
    asked = await client.get("/oidc/logout", query_string=query)
    html = await asked.get_data(as_text=True)
    assert "Learn Academy asks to sign you out" in html
    assert f'href="{POST_LOGOUT_URI}">Stay signed in' in html  # back, without the state
    policy = asked.headers["Content-Security-Policy"]
    assert "form-action 'self' https://learn.example.org https://*.learn.example.org" in policy

    done = await confirm_logout(client, asked)
    assert (done.status_code, done.headers["Location"]) == (303, f"{POST_LOGOUT_URI}?state=s1")
    assert not await signed_in(client, access)
    assert await notices(database_url) == 2
    outs = await audit_events(database_url, "sign_out")
    assert [(e.details["had_session"], e.details["via"]) for e in outs] == [
        (True, "OpenID Connect")
    ]


async def test_stay_signed_in_goes_home_without_a_registered_address(
    app: Quart, learn: VendorLogin
) -> None:
    client = app.test_client()
    await sign_in(client)
    asked = await client.get(
        "/oidc/logout", query_string={"post_logout_redirect_uri": "https://evil.example.com/"}
    )
    html = await asked.get_data(as_text=True)
    assert "A site asks to sign you out" in html and 'href="/">Stay signed in' in html
    assert "evil.example.com" not in asked.headers["Content-Security-Policy"]


async def test_a_hint_from_another_sign_in_is_asked_about_and_the_current_one_is_not(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    old_hint = (await tokens_for(client, learn))["id_token"]
    home = await (await client.get("/")).get_data(as_text=True)
    await client.post("/sign-out", form={"csrf_token": csrf_of(home)})
    await sign_in(client)  # a new portal session, with a new sid
    current = await tokens_for(client, learn)

    for hint, reason in ((old_hint, "other_session"), ("e30.e30.sig", "id_token_hint")):
        asked = await client.get("/oidc/logout", query_string={"id_token_hint": hint})
        assert ASKED in await asked.get_data(as_text=True)
        (event, *_) = reversed(await audit_events(database_url, "oidc.logout_asked"))
        assert event.details["reason"] == reason
    assert await signed_in(client, current["access_token"])

    query = {"id_token_hint": current["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI}
    at_once = await client.get("/oidc/logout", query_string=query)
    assert (at_once.status_code, at_once.headers["Location"]) == (303, POST_LOGOUT_URI)
    assert not await signed_in(client, current["access_token"])


async def test_without_a_portal_session_there_is_nothing_to_ask(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    query = {"client_id": "learn", "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s"}
    answer = await app.test_client().get("/oidc/logout", query_string=query)
    assert answer.headers["Location"] == f"{POST_LOGOUT_URI}?state=s"
    assert await audit_events(database_url, "oidc.logout_asked") == []
