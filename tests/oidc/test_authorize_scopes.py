"""Scopes at the authorization endpoint (Core §3.1.2.1, RFC 6749 §3.3): values the portal does
not know are ignored, known ones the vendor may not have are left out, and the grant is what is
left — `openid` stays required; the token answer's `scope` says what was granted."""

import pytest
from quart import Quart

from tests.flows import sign_in
from tests.oidc.oidc_flows import (
    Pkce,
    add_oidc_vendor,
    audit_events,
    authorize_query,
    basic,
    redirect_params,
    token_form,
)

pytestmark = pytest.mark.usefixtures("ada")


async def test_the_grant_is_the_allowed_subset_of_what_was_asked(
    app: Quart, database_url: str
) -> None:
    narrow = await add_oidc_vendor(
        database_url, "narrow", domain="narrow.example.org", scopes="openid email",
        refresh_tokens=False,
    )  # fmt: skip
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    asked = "openid admin email profile offline_access"
    answer = await client.get(
        "/oidc/authorize", query_string=authorize_query(pkce, client_id="narrow", scope=asked)
    )
    code = redirect_params(answer.headers["Location"])["code"]
    issued = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(narrow))
    body = await issued.get_json()
    assert body["scope"] == "openid email"
    assert "refresh_token" not in body  # offline_access was not granted: the vendor's switch
    (authorized,) = await audit_events(database_url, "oidc.authorized")
    assert authorized.details["scope"] == "openid email"
    assert authorized.details["not_granted"] == "admin profile offline_access"


async def test_only_unknown_scopes_beside_openid_grant_openid(
    app: Quart, database_url: str
) -> None:
    await add_oidc_vendor(database_url)
    client = app.test_client()
    await sign_in(client)
    query = authorize_query(Pkce.new(), scope="openid https://graph.example.com/read")
    answer = await client.get("/oidc/authorize", query_string=query)
    assert "code" in redirect_params(answer.headers["Location"])
    (authorized,) = await audit_events(database_url, "oidc.authorized")
    assert authorized.details["scope"] == "openid"
