"""What staff set per vendor about its answers (issue 21, items 15 and 16): `iss` left out of
the authorization answers for an older sign-in module (mod_auth_openidc 2.4 reads it as a
sign-in started elsewhere), and the algorithm its ID tokens are signed with (RS256 unless the
vendor's developers asked for ES256); every other vendor keeps today's answers."""

import base64
import hashlib
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from quart import Quart
from quart.typing import TestClientProtocol as Client

from tests.flows import VendorLogin, page, sign_in
from tests.oidc.oidc_flows import Pkce, add_oidc_vendor, authorize_query, basic, redirect_params
from tests.oidc.oidc_flows import token_form as code_form

pytestmark = pytest.mark.usefixtures("ada")


async def answer_of(client: Client, response_mode: str, signed_in: bool) -> dict[str, str]:
    """The parameters the vendor receives: a code (signed in) or login_required (prompt=none
    with nobody signed in), at its redirect URI or posted there."""
    if signed_in:
        await sign_in(client)
    prompt = None if signed_in else "none"
    query = authorize_query(Pkce.new(), response_mode=response_mode, prompt=prompt)
    answer = await client.get("/oidc/authorize", query_string=query)
    if response_mode == "form_post":
        assert answer.status_code == 200
        return (await page(answer)).hidden
    assert answer.status_code == 303
    return redirect_params(answer.headers["Location"])


@pytest.mark.parametrize("response_mode", ["query", "form_post"])
@pytest.mark.parametrize("signed_in", [True, False], ids=["code", "login_required"])
@pytest.mark.parametrize("omit_iss", [False, True], ids=["iss_sent", "iss_left_out"])
async def test_iss_is_in_every_answer_unless_the_vendor_leaves_it_out(
    app: Quart, database_url: str, response_mode: str, signed_in: bool, omit_iss: bool
) -> None:
    await add_oidc_vendor(database_url, omit_iss=omit_iss)
    params = await answer_of(app.test_client(), response_mode, signed_in)
    assert ("code" in params) is signed_in
    assert params.get("error") == (None if signed_in else "login_required")
    assert params["state"] == "rp-state-1"
    assert params.get("iss") == (None if omit_iss else "http://localhost")


async def token_answer(client: Client, login: VendorLogin, form: dict[str, str]) -> dict[str, Any]:
    answer = await client.post("/oidc/token", form=form, headers=basic(login))
    assert answer.status_code == 200, await answer.get_data(as_text=True)
    return dict(await answer.get_json())


async def checked_as(client: Client, id_token: str, alg: str) -> dict[str, Any]:
    """The ID token's claims, verified as a relying party that expects `alg` and nothing else
    (openid-client's id_token_signed_response_alg) would; its key is one the portal publishes."""
    keys = KeySet.import_key_set(await (await client.get("/oidc/jwks")).get_json())
    token = jwt.decode(id_token, keys, algorithms=[alg])
    assert token.header["alg"] == alg
    published = {key.kid: key.alg for key in keys.keys}
    assert published[token.header["kid"]] == alg
    return dict(token.claims)


def half_sha256(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", [None, "RS256", "ES256"], ids=["default", "RS256", "ES256"])
async def test_id_tokens_are_signed_with_the_vendors_algorithm(
    app: Quart, database_url: str, alg: str | None
) -> None:
    registered = {"id_token_signed_response_alg": alg} if alg else {}
    login = await add_oidc_vendor(database_url, **registered)
    expected = alg or "RS256"
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    start = await client.get("/oidc/authorize", query_string=authorize_query(pkce))
    code = redirect_params(start.headers["Location"])["code"]
    body = await token_answer(client, login, code_form(code, pkce))
    claims = await checked_as(client, body["id_token"], expected)
    assert claims["at_hash"] == half_sha256(body["access_token"])  # SHA-256 for both

    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    renewed = await token_answer(client, login, refresh)
    renewed_claims = await checked_as(client, renewed["id_token"], expected)
    assert renewed_claims["at_hash"] == half_sha256(renewed["access_token"])
    assert renewed_claims["sid"] == claims["sid"]


async def test_discovery_still_advertises_both_algorithms(app: Quart) -> None:
    found = await (await app.test_client().get("/.well-known/openid-configuration")).get_json()
    assert found["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert found["authorization_response_iss_parameter_supported"] is True
