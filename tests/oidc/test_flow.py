"""The code flow end to end through the ASGI app: authorize → sign-in → code → tokens → ID
token checked against the published keys → UserInfo → refresh → logout."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from quart import Quart
from quart.typing import TestClientProtocol as Client

from tests.conftest import FakeClock
from tests.flows import VendorLogin, page, sign_in
from tests.oidc.oidc_flows import (
    POST_LOGOUT_URI,
    REDIRECT_URI,
    Pkce,
    authorize_query,
    basic,
    redirect_params,
    token_form,
)

pytestmark = pytest.mark.usefixtures("ada")
ISSUER = "http://localhost"


async def signed_in_code(client: Client, pkce: Pkce, **changes: str | None) -> str:
    start = await client.get("/oidc/authorize", query_string=authorize_query(pkce, **changes))
    assert start.status_code == 303, await start.get_data(as_text=True)
    location = start.headers["Location"]
    if location.startswith("/sign-in?"):
        next_path = parse_qs(urlsplit(location).query)["next"][0]
        signed = await sign_in(client, next=next_path)
        assert signed.status_code == 303
        assert signed.headers["Location"] == next_path
        start = await client.get(next_path)
        assert start.status_code == 303
        location = start.headers["Location"]
    params = redirect_params(location)
    assert params["state"] == "rp-state-1"
    assert params["iss"] == ISSUER
    return params["code"]


async def tokens(client: Client, login: VendorLogin, form: dict[str, str]) -> dict[str, Any]:
    answer = await client.post("/oidc/token", form=form, headers=basic(login))
    body = await answer.get_json()
    assert answer.status_code == 200, body
    assert answer.headers["Cache-Control"] == "no-store"
    return dict(body)


async def verified(client: Client, id_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(await (await client.get("/oidc/jwks")).get_json())
    return dict(jwt.decode(id_token, keys, algorithms=["RS256", "ES256"]).claims)


async def test_the_code_flow_from_sign_in_to_logout(
    app: Quart, learn: VendorLogin, clock: FakeClock
) -> None:
    client, pkce = app.test_client(), Pkce.new()
    code = await signed_in_code(client, pkce)
    body = await tokens(client, learn, token_form(code, pkce))
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["scope"] == "openid profile email offline_access"
    claims = await verified(client, body["id_token"])
    assert claims["iss"] == ISSUER and claims["aud"] == "learn" and claims["sub"] == "101"
    assert claims["nonce"] == "rp-nonce-1" and len(claims["sid"]) == 32
    assert claims["auth_time"] == int(clock.current.timestamp())
    assert claims["exp"] > claims["iat"] == int(clock.current.timestamp())

    info = await client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert await info.get_json() == {
        "sub": "101",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "email_verified": False,
    }

    clock.advance(minutes=1)
    renewed = await tokens(
        client, learn, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert renewed["refresh_token"] != body["refresh_token"]
    assert (await verified(client, renewed["id_token"]))["sid"] == claims["sid"]

    out = await client.get(
        "/oidc/logout",
        query_string={
            "id_token_hint": renewed["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT_URI,
            "state": "bye-1",
        },
    )
    assert out.status_code == 303
    assert out.headers["Location"] == f"{POST_LOGOUT_URI}?state=bye-1"
    after = await client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {renewed['access_token']}"}
    )
    assert after.status_code == 401
    assert 'error="invalid_token"' in after.headers["WWW-Authenticate"]
    again = await client.get("/oidc/authorize", query_string=authorize_query(Pkce.new()))
    assert again.headers["Location"].startswith("/sign-in?")


async def test_form_post_posts_the_code_to_the_redirect_uri_only(
    app: Quart, learn: VendorLogin
) -> None:
    client, pkce = app.test_client(), Pkce.new()
    await signed_in_code(client, pkce)
    answer = await client.get(
        "/oidc/authorize", query_string=authorize_query(pkce, response_mode="form_post")
    )
    assert answer.status_code == 200
    form = await page(answer)
    assert form.forms[0]["action"] == REDIRECT_URI and form.forms[0]["method"] == "post"
    assert set(form.hidden) == {"code", "state", "iss"}
    assert [s["src"] for s in form.scripts] == ["/static/js/autopost.js"]
    policy = answer.headers["Content-Security-Policy"]
    assert "form-action https://learn.example.org https://*.learn.example.org" in policy
    assert "script-src 'self'" in policy
    assert answer.headers["Cache-Control"] == "no-store"


async def test_discovery_names_every_endpoint(app: Quart, learn: VendorLogin) -> None:
    client = app.test_client()
    found = await (await client.get("/.well-known/openid-configuration")).get_json()
    assert found["issuer"] == ISSUER
    assert found["jwks_uri"] == f"{ISSUER}/oidc/jwks"
    assert found["code_challenge_methods_supported"] == ["S256"]
    assert found["response_modes_supported"] == ["query", "form_post"]
    assert found["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert found["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    keys = await (await client.get("/oidc/jwks")).get_json()
    assert {key["alg"] for key in keys["keys"]} == {"RS256", "ES256"}
    assert all("d" not in key for key in keys["keys"])


async def test_a_browser_app_may_call_the_token_and_userinfo_endpoints(app: Quart) -> None:
    client = app.test_client()
    origin = {"Origin": "https://spa.example.org", "Access-Control-Request-Method": "POST"}
    for path in ("/oidc/token", "/oidc/userinfo", "/oidc/jwks"):
        preflight = await client.options(path, headers=origin)
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        assert "Access-Control-Allow-Credentials" not in preflight.headers
    page_answer = await client.get("/oidc/authorize", headers=origin)
    assert "Access-Control-Allow-Origin" not in page_answer.headers
