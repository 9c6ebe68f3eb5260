"""The demo's OpenID Connect vendor (Community Forum) against a live portal: real HTTP both
ways, Authlib's client on its side, the portal's endpoints on the other."""

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.exceptions import HTTPException

from portal import signing_keys
from portal.demo import oidc_vendor
from portal.demo.oidc_vendor import create_oidc_vendor_app
from portal.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.demo.browser import Browser, Page
from tests.demo.test_vendor import portal_sign_in_forms, signed_in_as
from tests.flows import unit_of_work
from tests.live import ACME, FORUM, LiveDemo

THREAD = "/catalogue/first-board-meeting"


def sign_in_with_password(visitor: Browser, start: str) -> Page:
    portal_form = visitor.get(visitor.get(start).link("Sign in with"))
    return visitor.submit(portal_form, "/sign-in", username="ada", password="demo-password")


def test_the_authorization_request_carries_pkce_state_and_nonce(
    demo: LiveDemo, visitor: Browser
) -> None:
    forum = demo.vendor_urls[FORUM]
    gate = visitor.client.get(
        forum + oidc_vendor.START, params={"next": THREAD}, follow_redirects=False
    )
    assert gate.status_code == 303
    url = urlsplit(gate.headers["location"])
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{demo.portal_url}/oidc/authorize"
    assert query["client_id"] == FORUM and query["response_type"] == "code"
    assert query["redirect_uri"] == forum + oidc_vendor.CALLBACK
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 43 and len(query["nonce"]) >= 43
    assert query["scope"] == oidc_vendor.SCOPE


def test_sign_in_lands_on_the_deep_link_with_the_members_claims(
    demo: LiveDemo, visitor: Browser
) -> None:
    forum = demo.vendor_urls[FORUM]
    back = sign_in_with_password(visitor, forum + THREAD)
    assert back.url == forum + THREAD
    assert signed_in_as(back) == "Ada Lovelace"
    for claim, value in (("sub", "101"), ("given_name", "Ada"), ("email", "ada@example.org")):
        assert f'<th scope="row">{claim}</th><td>{value}</td>' in back.text
    assert '<th scope="row">member_type</th><td>REG</td>' in back.text  # the membership scope


def test_a_portal_session_from_an_enhanced_vendor_signs_in_without_a_password(
    demo: LiveDemo, visitor: Browser
) -> None:
    assert signed_in_as(visitor.sign_in(demo.vendor_urls[ACME] + "/")) == "Ada Lovelace"
    visitor.visited.clear()
    forum = demo.vendor_urls[FORUM]
    back = visitor.get(visitor.get(forum + THREAD).link("Sign in with"))
    assert (back.url, signed_in_as(back)) == (forum + THREAD, "Ada Lovelace")
    assert any(url.startswith(f"{demo.portal_url}/oidc/authorize?") for url in visitor.visited)
    assert portal_sign_in_forms(visitor, demo) == []


def test_sign_out_ends_the_forum_session_and_the_portal_session(
    demo: LiveDemo, visitor: Browser
) -> None:
    forum = demo.vendor_urls[FORUM]
    sign_in_with_password(visitor, forum + "/")
    visitor.visited.clear()
    home = visitor.submit(visitor.get(forum + "/"), "/sign-out")
    assert home.url == forum + "/"
    assert signed_in_as(home) is None
    assert "You are signed out of Community Forum and of Example Association." in home.text
    assert any(url.startswith(f"{demo.portal_url}/oidc/logout?") for url in visitor.visited)
    # The portal session is over: the next sign-in asks for the password again.
    again = visitor.get(visitor.get(forum + "/").link("Sign in with"))
    assert again.url.startswith(f"{demo.portal_url}/sign-in?")


def test_the_passive_check_answers_without_a_form(demo: LiveDemo, visitor: Browser) -> None:
    forum = demo.vendor_urls[FORUM]
    page = visitor.get(forum + "/check")
    assert "You are not signed in at Example Association." in page.text
    assert portal_sign_in_forms(visitor, demo) == []
    sign_in_with_password(visitor, forum + "/")
    visitor.submit(visitor.get(forum + "/"), "/forget")
    page = visitor.get(forum + "/check")
    assert "Yes: you are signed in here as" in page.text


def test_a_callback_this_browser_did_not_start_is_refused(demo: LiveDemo, visitor: Browser) -> None:
    forum = demo.vendor_urls[FORUM]
    answer = visitor.get(f"{forum}{oidc_vendor.CALLBACK}?code=stolen&state=someone-elses")
    assert answer.response.status_code == 400
    assert "did not start in this browser" in answer.text
    assert signed_in_as(visitor.get(forum + "/")) is None


def test_back_after_signing_in_visits_the_callback_again_and_goes_on_to_the_page(
    demo: LiveDemo, visitor: Browser
) -> None:
    """Back re-visits the portal's sign-in page, which (the member signed in there) goes on to
    our callback with a new code for the state already used: the forum sends the member on to
    the page; a state it never gave this browser is still refused."""
    forum = demo.vendor_urls[FORUM]
    portal_form = visitor.get(visitor.get(forum + THREAD).link("Sign in with"))
    back = visitor.submit(portal_form, "/sign-in", username="ada", password="demo-password")
    assert signed_in_as(back) == "Ada Lovelace"
    visitor.visited.clear()

    again = visitor.get(portal_form.url)
    assert any(url.startswith(forum + oidc_vendor.CALLBACK) for url in visitor.visited)
    assert (again.url, again.response.status_code) == (forum + THREAD, 200)
    assert signed_in_as(again) == "Ada Lovelace"
    assert "no-store" in again.response.headers["cache-control"]  # Back after sign-out asks again
    answer = visitor.get(f"{forum}{oidc_vendor.CALLBACK}?code=stolen&state=someone-elses")
    assert answer.response.status_code == 400


def test_an_answer_naming_another_issuer_is_refused(demo: LiveDemo, visitor: Browser) -> None:
    forum = demo.vendor_urls[FORUM]
    start = visitor.client.get(forum + oidc_vendor.START, follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    query = {"code": "a-code", "state": state, "iss": "https://evil.example"}
    answer = visitor.get(f"{forum}{oidc_vendor.CALLBACK}?{urlencode(query)}")
    assert answer.response.status_code == 400
    assert "did not come from the association" in answer.text


def id_token_claims(provider: dict[str, Any], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": provider["issuer"], "sub": "101", "aud": FORUM, "iat": now,
              "exp": now + 300, "nonce": "the-nonce"}  # fmt: skip
    return {**claims, **changes}


async def signed_by_the_portal(demo: LiveDemo, tmp_path: Path, claims: dict[str, Any]) -> str:
    """Signed with the live portal's own current key, as its token endpoint signs."""
    config = Settings(
        env="development",
        database_url=demo.database_url,
        data_dir=tmp_path,
        secret_key=TEST_SECRET_KEY,
    )
    async with unit_of_work(demo.database_url) as session:
        return await signing_keys.sign(session, claims, now=datetime.now(UTC), settings=config)


@pytest.mark.parametrize(
    ("changes", "signer"),
    [
        ({}, "portal"),
        ({"nonce": "another-sign-in"}, "portal"),
        ({"aud": "acme-learning"}, "portal"),
        ({"iss": "https://evil.example"}, "portal"),
        ({"exp": int(time.time()) - 600}, "portal"),
        ({}, "a key of its own"),
    ],
)
async def test_the_id_token_is_checked_against_the_published_keys_and_this_sign_in(
    demo: LiveDemo, tmp_path: Path, changes: dict[str, Any], signer: str
) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{demo.portal_url}/.well-known/openid-configuration")
    provider = answer.json()
    claims = id_token_claims(provider, **changes)
    if signer == "portal":
        id_token = await signed_by_the_portal(demo, tmp_path, claims)
    else:  # a forger's key, under the kid of none the portal publishes
        forger = RSAKey.generate_key(2048, parameters={"kid": "forged"})
        id_token = jwt.encode({"alg": "RS256", "kid": "forged"}, claims, forger)
    app = create_oidc_vendor_app(demo.sites[FORUM])
    async with app.test_request_context(oidc_vendor.CALLBACK):
        token = {"id_token": id_token, "access_token": "not-hashed-into-this-token"}
        if not changes and signer == "portal":
            checked = await oidc_vendor.check_id_token(provider, token, "the-nonce")
            assert checked["sub"] == "101"
            return
        with pytest.raises(HTTPException) as refused:
            await oidc_vendor.check_id_token(provider, token, "the-nonce")
    assert refused.value.code == 502
