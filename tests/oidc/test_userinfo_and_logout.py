"""UserInfo: claims by scope and returned field, pairwise subjects, bearer errors (RFC 6750);
RP-initiated logout: exact post-logout URIs, the ID token hint, signed out once confirmed
(tests/oidc/test_logout_confirmation.py: when the member is asked)."""

from typing import Any

import pytest
from quart import Quart
from sqlalchemy import update

from portal import vendor_rules, vendors
from portal.auth.models import AuthSession
from portal.models import Member, Vendor
from tests.conftest import FakeClock
from tests.flows import VendorLogin, add_member, sign_in, unit_of_work
from tests.oidc.oidc_flows import (
    POST_LOGOUT_URI,
    add_oidc_vendor,
    audit_events,
    bearer,
    confirm_logout,
    reasons,
    tokens_for,
)

pytestmark = pytest.mark.usefixtures("ada")
EVERYTHING = [
    "ImisId", "Username", "FirstName", "LastName", "FullName", "Email", "Phone", "Address1",
    "City", "Country", "MemberType", "MemberStatus", "PaidThrough", "IsMember",
]  # fmt: skip


@pytest.fixture
async def grace(database_url: str) -> None:
    await add_member(
        database_url, imis_id="202", username="grace", email="grace@example.org",
        first_name="Grace", last_name="Hopper", phone="+1 555 0100", address1="1 Navy Way",
        city="Arlington", country="US", member_status="A",
    )  # fmt: skip


async def select_all_fields(database_url: str, key: str = "learn") -> None:
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, key)
        await vendors.replace_fields(
            session, vendor, [vendor_rules.FieldChoice(f) for f in EVERYTHING]
        )


@pytest.mark.parametrize(
    ("scope", "claims"),
    [
        ("openid", {"sub"}),
        ("openid profile", {"sub", "given_name", "family_name", "name", "preferred_username"}),
        ("openid email", {"sub", "email", "email_verified"}),
        ("openid phone", {"sub", "phone_number", "phone_number_verified"}),
        ("openid address", {"sub", "address"}),
        (
            "openid membership",
            {"sub", "imis_id", "member_type", "member_status", "paid_through", "is_member"},
        ),
    ],
)
async def test_claims_follow_the_scopes_granted(
    app: Quart, database_url: str, learn: VendorLogin, grace: None, scope: str, claims: set[str]
) -> None:
    await select_all_fields(database_url)
    client = app.test_client()
    await sign_in(client, "grace")
    access = (await tokens_for(client, learn, scope))["access_token"]
    for method in ("GET", "POST"):
        info = await client.open(
            "/oidc/userinfo", method=method, headers={"Authorization": f"Bearer {access}"}
        )
        assert set(await info.get_json()) == claims


async def test_the_claims_hold_the_members_values(
    app: Quart, database_url: str, learn: VendorLogin, grace: None
) -> None:
    await select_all_fields(database_url)
    client = app.test_client()
    await sign_in(client, "grace")
    scope = "openid profile email phone address membership"
    access = (await tokens_for(client, learn, scope))["access_token"]
    info = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    found = await info.get_json()
    assert found["address"] == {
        "street_address": "1 Navy Way",
        "locality": "Arlington",
        "country": "US",
    }
    assert (found["sub"], found["imis_id"], found["name"]) == ("202", "202", "Grace Hopper")
    assert (found["is_member"], found["paid_through"]) == (True, "2030-12-31")
    assert found["phone_number"] == "+1 555 0100"


async def test_only_the_returned_fields_are_released(app: Quart, learn: VendorLogin) -> None:
    client = app.test_client()
    await sign_in(client)
    access = (await tokens_for(client, learn, "openid membership"))["access_token"]
    info = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    # The default selection holds ImisId and MemberType of the membership claims.
    assert await info.get_json() == {"sub": "101", "imis_id": "101", "member_type": "REG"}


async def test_pairwise_subjects_differ_per_vendor_and_stay_put(
    app: Quart, database_url: str
) -> None:
    one = await add_oidc_vendor(
        database_url, "one", domain="one.example.org", pairwise_subject=True
    )
    two = await add_oidc_vendor(
        database_url, "two", domain="two.example.org", pairwise_subject=True
    )
    client = app.test_client()
    await sign_in(client)
    subs = []
    for login in (one, two, one):
        access = (await tokens_for(client, login, key=login.key))["access_token"]
        info = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
        subs.append((await info.get_json())["sub"])
    assert subs[0] == subs[2] != subs[1]
    assert "101" not in subs and len(subs[0]) == 43


@pytest.mark.parametrize(
    ("headers", "query", "status", "error"),
    [
        ({}, {}, 401, None),
        ({"Authorization": "Bearer nope"}, {}, 401, "invalid_token"),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, {}, 400, "invalid_request"),
        ({}, {"access_token": "x"}, 400, "invalid_request"),
    ],
)
async def test_userinfo_refusals_say_why_in_www_authenticate(
    app: Quart, learn: VendorLogin, headers: dict[str, str], query: dict[str, str],
    status: int, error: str | None, database_url: str,
) -> None:  # fmt: skip
    answer = await app.test_client().get("/oidc/userinfo", headers=headers, query_string=query)
    assert answer.status_code == status
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="portal"')
    body = await answer.get_json()
    if error:
        assert f'error="{error}"' in challenge and body["error"] == error
    else:  # RFC 6750 §3.1: no credentials at all, no error code, in the header or the body
        assert challenge == 'Bearer realm="portal"'
        assert "error" not in body and body["error_description"]
    assert answer.headers["Cache-Control"] == "no-store"
    # Only a token that was read and gives nothing is audited; a malformed request is not.
    audited = ["unknown"] if error == "invalid_token" else []
    assert await reasons(database_url, "oidc.userinfo_rejected") == audited


async def test_an_access_token_past_its_expiry_is_refused(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    access = (await tokens_for(client, learn))["access_token"]
    clock.advance(seconds=299)
    assert (await client.get("/oidc/userinfo", headers=bearer(access))).status_code == 200
    clock.advance(seconds=1)  # five minutes, PORTAL_OIDC_ACCESS_TOKEN_TTL_SECONDS
    refused = await client.get("/oidc/userinfo", headers=bearer(access))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    [event] = await audit_events(database_url, "oidc.userinfo_rejected")
    assert (event.vendor_key, event.member_id, event.details["reason"]) == ("learn", 1, "expired")


async def test_a_disabled_member_gets_nothing_from_userinfo(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    access = (await tokens_for(client, learn))["access_token"]
    # The flag alone, as any writer of it leaves it: UserInfo must not count on the grants
    # having been revoked as well.
    async with unit_of_work(database_url) as session:
        await session.exec(update(Member).values(enabled=False))
    refused = await client.get("/oidc/userinfo", headers=bearer(access))
    assert refused.status_code == 401
    assert await reasons(database_url, "oidc.userinfo_rejected") == ["member_disabled"]


@pytest.mark.parametrize("ended", ["ended", "past its absolute end"])
async def test_an_ended_session_takes_its_access_tokens_with_it(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str, ended: str
) -> None:
    """The session's columns alone, grants untouched: UserInfo must read the session itself."""
    client = app.test_client()
    await sign_in(client)
    access = (await tokens_for(client, learn))["access_token"]
    end = AuthSession.ended_at if ended == "ended" else AuthSession.expires_at
    async with unit_of_work(database_url) as session:
        await session.exec(update(AuthSession).values({end: clock.current}))
    refused = await client.get("/oidc/userinfo", headers=bearer(access))
    assert refused.status_code == 401
    assert await reasons(database_url, "oidc.userinfo_rejected") == ["session_ended"]


async def test_a_disabled_vendor_loses_its_access_tokens(
    app: Quart, database_url: str, learn: VendorLogin
) -> None:
    client = app.test_client()
    await sign_in(client)
    access = (await tokens_for(client, learn))["access_token"]
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "learn")
        vendor.enabled = False
        session.add(vendor)
    info = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert info.status_code == 401
    [event] = await audit_events(database_url, "oidc.userinfo_rejected")
    assert (event.vendor_key, event.details["reason"]) == ("learn", "disabled")


BACK = {"post_logout_redirect_uri": POST_LOGOUT_URI}
EVIL_BACK = {"post_logout_redirect_uri": "https://evil.example.com/"}
LOGOUT_CASES = {
    "unregistered return": ({"client_id": "learn", **EVIL_BACK}, "not registered"),
    "return without a client": (BACK, "did not say"),
    "forged hint": ({"id_token_hint": "e30.e30.sig", **BACK}, "did not issue"),
    "unknown client": ({"client_id": "nobody", **BACK}, "does not know"),
    "no return at all": ({}, None),
}


@pytest.mark.parametrize(("query", "notice"), LOGOUT_CASES.values(), ids=LOGOUT_CASES.keys())
async def test_logout_once_confirmed_signs_out_and_redirects_only_where_registered(
    app: Quart, learn: VendorLogin, database_url: str, query: dict[str, str], notice: str | None
) -> None:
    client = app.test_client()
    await sign_in(client)
    access = (await tokens_for(client, learn))["access_token"]
    asked = await client.get("/oidc/logout", query_string=query)  # no hint of this session
    answer = await confirm_logout(client, asked)
    if notice is None:  # nothing to explain: the signed-out page that names the sites
        assert (answer.status_code, answer.headers["Location"]) == (303, "/signed-out")
        answer = await client.get("/signed-out")
        assert "You may still be signed in at Learn Academy" in await answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Location" not in answer.headers
    html = await answer.get_data(as_text=True)
    assert "You are signed out" in html
    assert (notice in html) if notice else ("signout-notice" not in html)
    info = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert info.status_code == 401
    [event] = await audit_events(database_url, "oidc.userinfo_rejected")
    assert (event.vendor_key, event.details["reason"]) == ("learn", "revoked")  # by the sign-out
    outs = await audit_events(database_url, "sign_out")
    assert [(e.details["had_session"], e.details["via"]) for e in outs] == [
        (True, "OpenID Connect")
    ]


async def test_logout_by_client_id_and_post(app: Quart, learn: VendorLogin) -> None:
    client = app.test_client()
    await sign_in(client)
    form = {"client_id": "learn", "post_logout_redirect_uri": POST_LOGOUT_URI}
    posted = await client.post("/oidc/logout", form=form)
    assert posted.status_code == 303
    answer = await confirm_logout(client, await client.get(posted.headers["Location"]))
    assert answer.headers["Location"] == POST_LOGOUT_URI


async def test_an_expired_hint_still_names_the_client(
    app: Quart, learn: VendorLogin, clock: Any
) -> None:
    client = app.test_client()
    await sign_in(client)
    hint = (await tokens_for(client, learn))["id_token"]
    clock.advance(hours=1)
    query = {"id_token_hint": hint, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s"}
    answer = await client.get("/oidc/logout", query_string=query)
    assert answer.headers["Location"] == f"{POST_LOGOUT_URI}?state=s"


async def test_a_hint_for_another_client_is_refused(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    await add_oidc_vendor(database_url, "other", domain="other.example.org")
    client = app.test_client()
    await sign_in(client)
    hint = (await tokens_for(client, learn))["id_token"]
    query = {
        "id_token_hint": hint,
        "client_id": "other",
        "post_logout_redirect_uri": POST_LOGOUT_URI,
    }
    answer = await client.get("/oidc/logout", query_string=query)
    assert answer.status_code == 200 and "two different sites" in await answer.get_data(
        as_text=True
    )


async def test_vendor_model_has_the_oidc_columns() -> None:
    assert {"protocol", "public_client", "pairwise_subject"} <= set(Vendor.model_fields)
