"""A vendor's access rule at the OpenID Connect front end, through the real endpoints: decided
at /oidc/authorize before any code (the refusal page, or access_denied for prompt=none), and in
the statements that redeem a code, use a refresh token and answer UserInfo (grants.IN_FORCE), so
a member the rule no longer lets in gets nothing at the next request — and gets in again once it
does, since a refusal by the rule revokes nothing."""

import html
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlmodel import select

from portal.access_rules import Rule
from portal.oidc.models import OidcGrant
from portal.oidc.protocol_errors import ACCESS_RULE_REFUSED
from tests.flows import VendorLogin, sign_in, unit_of_work
from tests.oidc.oidc_flows import (
    Pkce,
    audit_events,
    authorize_query,
    basic,
    bearer,
    grant_row,
    redirect_params,
    refresh,
    set_access_rule,
    set_paid_through,
    token_form,
    tokens_for,
)

pytestmark = pytest.mark.usefixtures("ada")
ISSUER = "http://localhost"
LAPSED, RENEWED = date(2026, 1, 31), date(2027, 12, 31)  # the tests' clock: 27 November 2026
CURRENT_MEMBERS = Rule(good_standing=True)
STUDENTS = Rule(member_types=("STU",))  # ada is REG


async def authorize(client: Client, pkce: Pkce, **changes: str | None) -> tuple[int, str, str]:
    """The authorization request of a signed-in browser: its status, Location and page."""
    answer = await client.get("/oidc/authorize", query_string=authorize_query(pkce, **changes))
    return answer.status_code, answer.headers.get("Location", ""), await answer.get_data(True)


def back_to_site(page: str) -> str:
    found = re.search(r'href="([^"]*)" data-testid="back-to-site"', page)
    assert found, page
    return html.unescape(found.group(1))


async def refusals(database_url: str) -> list[dict[str, object]]:
    return [e.details for e in await audit_events(database_url, "access.refused")]


async def test_a_member_the_rule_refuses_sees_the_page_whose_way_back_tells_the_vendor(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    await set_access_rule(database_url, CURRENT_MEMBERS)
    await set_paid_through(database_url, LAPSED)
    client, pkce = app.test_client(), Pkce.new()
    status, location, _ = await authorize(client, pkce)
    assert status == 303 and location.startswith("/sign-in?")
    next_path = parse_qs(urlsplit(location).query)["next"][0]
    assert (await sign_in(client, next=next_path)).headers["Location"] == next_path

    answer = await client.get(next_path)  # the sign-in continues the request, which is refused
    page = await answer.get_data(as_text=True)
    assert answer.status_code == 403
    assert "Learn Academy is for members whose membership is current" in page
    assert "lapsed on 31 January 2026" in page
    back = redirect_params(back_to_site(page))
    assert back == {
        "error": "access_denied",
        "error_description": ACCESS_RULE_REFUSED,
        "state": "rp-state-1",
        "iss": ISSUER,
    }
    assert "form-action 'self'" in answer.headers["Content-Security-Policy"]  # a link needs none
    async with unit_of_work(database_url) as session:
        assert list(await session.exec(select(OidcGrant))) == []  # no code was issued
    [refused] = await refusals(database_url)
    assert refused["front_end"] == "oidc" and refused["passive"] is False
    assert refused["reason"] == "not_in_good_standing"
    assert refused["rule"] == "Members in good standing"
    assert await audit_events(database_url, "oidc.authorized") == []


async def test_the_refusal_page_of_a_form_post_request_posts_the_answer_back(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    await set_access_rule(database_url, STUDENTS)
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    status, _, page = await authorize(client, pkce, response_mode="form_post")
    assert status == 403
    assert 'action="https://learn.example.org/callback"' in page
    assert 'name="error" value="access_denied"' in page and 'value="rp-state-1"' in page
    assert "Learn Academy is for STU members; yours is REG." in page


async def test_prompt_none_is_answered_access_denied(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    await set_access_rule(database_url, STUDENTS)
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    status, location, _ = await authorize(client, pkce, prompt="none")
    assert status == 303
    assert redirect_params(location) == {
        "error": "access_denied",
        "error_description": ACCESS_RULE_REFUSED,
        "state": "rp-state-1",
        "iss": ISSUER,
    }
    [refused] = await refusals(database_url)
    assert refused["passive"] is True and refused["reason"] == "member_type"


async def test_a_lapsed_members_refresh_is_refused_without_revoking_and_works_after_renewing(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    await set_access_rule(database_url, CURRENT_MEMBERS)
    client = app.test_client()
    await sign_in(client)
    body = await tokens_for(client, learn, "openid offline_access")
    await set_paid_through(database_url, LAPSED)

    refused = await refresh(client, learn, body["refresh_token"])
    assert refused.status_code == 400
    assert await refused.get_json() == {
        "error": "invalid_grant",
        "error_description": ACCESS_RULE_REFUSED,
    }
    # The token endpoint's other path (a scope it cannot grant goes there) runs the same rule.
    other_path = await refresh(client, learn, body["refresh_token"], scope="openid bogus")
    assert (await other_path.get_json())["error_description"] == ACCESS_RULE_REFUSED
    assert (await grant_row(database_url)).revoked_at is None  # not reuse: nothing revoked
    assert await audit_events(database_url, "oidc.refresh_reuse") == []
    assert [r["reason"] for r in await refusals(database_url)] == ["not_in_good_standing"] * 2

    await set_paid_through(database_url, RENEWED)  # the member renews: the same token works
    renewed = await refresh(client, learn, body["refresh_token"])
    assert renewed.status_code == 200, await renewed.get_json()


async def test_userinfo_after_the_member_lapses_is_401(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    await set_access_rule(database_url, CURRENT_MEMBERS)
    client = app.test_client()
    await sign_in(client)
    body = await tokens_for(client, learn)
    userinfo = {"headers": bearer(body["access_token"])}
    assert (await client.get("/oidc/userinfo", **userinfo)).status_code == 200
    await set_paid_through(database_url, LAPSED)

    info = await client.get("/oidc/userinfo", **userinfo)
    assert info.status_code == 401
    assert 'error="invalid_token"' in info.headers["WWW-Authenticate"]
    assert (await info.get_json())["error_description"] == ACCESS_RULE_REFUSED
    [refused] = await refusals(database_url)
    assert refused["front_end"] == "oidc" and refused["reason"] == "not_in_good_standing"
    assert await audit_events(database_url, "oidc.userinfo_rejected") == []


async def test_a_code_issued_before_the_rule_changed_is_not_redeemed(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    _, location, _ = await authorize(client, pkce)
    code = redirect_params(location)["code"]
    await set_access_rule(database_url, STUDENTS)  # staff change the rule as the code travels

    answer = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(learn))
    assert answer.status_code == 400
    assert await answer.get_json() == {
        "error": "invalid_grant",
        "error_description": ACCESS_RULE_REFUSED,
    }
    assert (await grant_row(database_url)).code_redeemed_at is None
    [refused] = await refusals(database_url)
    assert refused["reason"] == "member_type"
    assert await audit_events(database_url, "oidc.code_redeemed") == []


async def test_a_rule_change_takes_effect_on_the_next_request(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    body = await tokens_for(client, learn, "openid offline_access")
    userinfo = {"headers": bearer(body["access_token"])}

    await set_access_rule(database_url, Rule(statuses=("X",)))
    assert (await client.get("/oidc/userinfo", **userinfo)).status_code == 401
    assert (await refresh(client, learn, body["refresh_token"])).status_code == 400
    assert (await authorize(client, Pkce.new()))[0] == 403

    await set_access_rule(database_url, Rule())  # everyone again
    assert (await client.get("/oidc/userinfo", **userinfo)).status_code == 200
    assert (await refresh(client, learn, body["refresh_token"])).status_code == 200
    status, location, _ = await authorize(client, Pkce.new())
    assert status == 303 and "code" in redirect_params(location)
