"""Token revocation (RFC 7009) at the advertised `revocation_endpoint`: the token endpoint's
client authentication; a refresh or an access token ends its whole grant; what cannot be revoked
answers 200 all the same (§2.2) and revokes nothing; audited; open to browser apps (CORS)."""

import pytest
from quart import Quart

from tests.flows import VendorLogin, sign_in
from tests.oidc.oidc_flows import (
    add_oidc_vendor,
    audit_events,
    basic,
    bearer,
    reasons,
    refresh,
    tokens_for,
)

pytestmark = pytest.mark.usefixtures("ada")
SCOPE = "openid offline_access"


@pytest.mark.parametrize("kind", ["refresh_token", "access_token"])
async def test_revoking_a_token_ends_its_whole_grant(
    app: Quart, learn: VendorLogin, database_url: str, kind: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    issued = await tokens_for(client, learn, SCOPE)
    form = {"token": issued[kind], "token_type_hint": kind}
    answer = await client.post("/oidc/revoke", form=form, headers=basic(learn))
    assert (answer.status_code, await answer.get_data(as_text=True)) == (200, "")
    assert answer.headers["Cache-Control"] == "no-store"
    assert (await refresh(client, learn, issued["refresh_token"])).status_code == 400
    info = await client.get("/oidc/userinfo", headers=bearer(issued["access_token"]))
    assert info.status_code == 401
    [event] = await audit_events(database_url, "oidc.token_revoked")
    assert (event.outcome, event.vendor_key, event.member_id) == ("success", "learn", 1)


async def test_what_cannot_be_revoked_answers_200_and_revokes_nothing(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    other = await add_oidc_vendor(database_url, "other", domain="other.example.org")
    client = app.test_client()
    await sign_in(client)
    theirs = await tokens_for(client, other, SCOPE, key="other")
    for token in ("x" * 43, theirs["refresh_token"]):
        answer = await client.post("/oidc/revoke", form={"token": token}, headers=basic(learn))
        assert answer.status_code == 200
    assert await reasons(database_url, "oidc.token_revoked") == ["unknown", "other_vendor"]
    assert (await refresh(client, other, theirs["refresh_token"])).status_code == 200

    ours = await tokens_for(client, learn, SCOPE)
    for _ in range(2):  # the second time, it is revoked already
        answer = await client.post(
            "/oidc/revoke", form={"token": ours["refresh_token"]}, headers=basic(learn)
        )
        assert answer.status_code == 200
    done = [e.details for e in await audit_events(database_url, "oidc.token_revoked")][2:]
    assert [d["already_revoked"] for d in done] == [False, True]


@pytest.mark.parametrize(
    ("form", "headers", "status", "error"),
    [
        ({"token": "x" * 43}, "wrong secret", 401, "invalid_client"),
        ({"token": "x" * 43}, "none", 401, "invalid_client"),
        ({}, "learn", 400, "invalid_request"),
        ({"token": "a", "client_secret": "s"}, "learn", 400, "invalid_request"),
    ],
)
async def test_revocation_refuses_as_the_token_endpoint_does(
    app: Quart,
    learn: VendorLogin,
    form: dict[str, str],
    headers: str,
    status: int,
    error: str,
) -> None:
    sent = {"learn": basic(learn), "wrong secret": basic(learn, "wrong"), "none": {}}[headers]
    answer = await app.test_client().post("/oidc/revoke", form=form, headers=sent)
    assert (answer.status_code, (await answer.get_json())["error"]) == (status, error)


async def test_a_public_client_revokes_with_its_client_id_alone(
    app: Quart, database_url: str
) -> None:
    login = await add_oidc_vendor(database_url, public_client=True)
    client = app.test_client()
    await sign_in(client)
    issued = await tokens_for(client, login, SCOPE)
    form = {"token": issued["refresh_token"], "client_id": "learn"}
    answer = await client.post("/oidc/revoke", form=form, headers={"Origin": "https://x.example"})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert (
        await client.get("/oidc/userinfo", headers=bearer(issued["access_token"]))
    ).status_code == 401


async def test_discovery_advertises_revocation(app: Quart) -> None:
    found = await (await app.test_client().get("/.well-known/openid-configuration")).get_json()
    assert found["revocation_endpoint"] == "http://localhost/oidc/revoke"
    assert found["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
