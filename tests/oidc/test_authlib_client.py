"""A relying party nobody here wrote: Authlib's OpenID Connect client (AsyncOAuth2Client, with
the discovery, PKCE, ID-token validation and logout of Authlib's framework clients) against a
live portal, through a key rotation in the middle of the session; offline access that outlives
the portal session's idle timeout until the relying party revokes it (RFC 7009); and a refresh
refused once the vendor's access rule no longer lets the member in."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from authlib.integrations.base_client import BaseApp
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jws

from portal.access_rules import Rule
from portal.settings import Settings
from tests.conftest import FakeClock
from tests.flows import VendorLogin, live_portal
from tests.oidc.live_flows import on_the_tests_clock, query_of, rotate_keys, sign_in_for
from tests.oidc.oidc_flows import (
    POST_LOGOUT_URI,
    REDIRECT_URI,
    set_access_rule,
    set_paid_through,
)

pytestmark = pytest.mark.usefixtures("ada")


class RelyingParty(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's own OpenID Connect app (its Starlette integration's, without Starlette)."""

    client_cls = AsyncOAuth2Client


@pytest.fixture
def portal_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path) as url:
        yield url


def kid_of(token: str) -> str:
    return str(jws.extract_compact(token.encode()).headers()["kid"])


async def test_authlib_signs_in_refreshes_across_a_key_rotation_and_logs_out(
    portal_url: str, learn: VendorLogin, database_url: str, tmp_path: Path
) -> None:
    rp = RelyingParty(
        None,
        "portal",
        client_id="learn",
        client_secret=learn.secret,
        server_metadata_url=f"{portal_url}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email offline_access",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    started = await rp.create_authorization_url(redirect_uri=REDIRECT_URI)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        back = query_of(await sign_in_for(browser, started["url"]))
        assert back["state"] == started["state"] and back["iss"] == portal_url

        token = await rp.fetch_access_token(
            redirect_uri=REDIRECT_URI, code=back["code"], code_verifier=started["code_verifier"]
        )
        claims = await rp.parse_id_token(token, nonce=started["nonce"])
        assert (claims["sub"], claims["aud"], claims["iss"]) == ("101", "learn", portal_url)
        info = await rp.userinfo(token=token)
        assert (info["sub"], info["email"], info["given_name"]) == ("101", "ada@example.org", "Ada")

        new_kids = rotate_keys(database_url, tmp_path)
        metadata = await rp.load_server_metadata()
        refresher = AsyncOAuth2Client(
            client_id="learn",
            client_secret=learn.secret,
            token_endpoint_auth_method="client_secret_post",
        )
        async with refresher:
            renewed = await refresher.refresh_token(
                metadata["token_endpoint"], refresh_token=token["refresh_token"]
            )
        assert kid_of(renewed["id_token"]) in new_kids
        assert kid_of(token["id_token"]) not in new_kids
        renewed_claims = await rp.parse_id_token(renewed, nonce=started["nonce"])
        assert renewed_claims["sid"] == claims["sid"]
        assert (await rp.userinfo(token=renewed))["sub"] == "101"

        logout = await rp.create_logout_url(
            post_logout_redirect_uri=POST_LOGOUT_URI, id_token_hint=renewed["id_token"]
        )
        out = await browser.get(logout["url"])
        assert out.status_code == 303
        assert out.headers["Location"] == f"{POST_LOGOUT_URI}?state={logout['state']}"
        with pytest.raises(httpx.HTTPStatusError):
            await rp.userinfo(token=renewed)
        again = await browser.get(started["url"])
        assert again.headers["Location"].startswith("/sign-in?")


async def test_authlib_keeps_offline_access_past_the_idle_timeout_then_revokes_it(
    settings: Settings, clock: FakeClock, learn: VendorLogin
) -> None:
    with on_the_tests_clock(settings, clock) as url:
        rp = RelyingParty(
            None,
            "portal",
            client_id="learn",
            client_secret=learn.secret,
            server_metadata_url=f"{url}/.well-known/openid-configuration",
            client_kwargs={
                "scope": "openid profile offline_access",
                "code_challenge_method": "S256",
            },
        )
        started = await rp.create_authorization_url(redirect_uri=REDIRECT_URI)
        async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
            back = query_of(await sign_in_for(browser, started["url"]))
            token = await rp.fetch_access_token(
                redirect_uri=REDIRECT_URI, code=back["code"], code_verifier=started["code_verifier"]
            )
            clock.advance(minutes=31)  # the member is away: the portal session times out
            again = await browser.get(started["url"])
            assert again.headers["Location"].startswith("/sign-in?")

        metadata = await rp.load_server_metadata()
        async with AsyncOAuth2Client(client_id="learn", client_secret=learn.secret) as client:
            renewed = await client.refresh_token(
                metadata["token_endpoint"], refresh_token=token["refresh_token"]
            )
            assert (await rp.userinfo(token=renewed))["given_name"] == "Ada"
            revoked = await client.revoke_token(
                metadata["revocation_endpoint"],
                token=renewed["refresh_token"],
                token_type_hint="refresh_token",
            )
            assert revoked.status_code == 200
            with pytest.raises(OAuthError):
                await client.refresh_token(
                    metadata["token_endpoint"], refresh_token=renewed["refresh_token"]
                )
        with pytest.raises(httpx.HTTPStatusError):
            await rp.userinfo(token=renewed)


async def test_authlib_is_refused_a_refresh_once_the_member_lapses(
    portal_url: str, learn: VendorLogin, database_url: str
) -> None:
    """The vendor's access rule (members in good standing) at a stock client: once the member
    lapses, its refresh is invalid_grant and UserInfo a 401; nothing is revoked, so once they
    renew the same refresh token works again."""
    await set_access_rule(database_url, Rule(good_standing=True))
    rp = RelyingParty(
        None,
        "portal",
        client_id="learn",
        client_secret=learn.secret,
        server_metadata_url=f"{portal_url}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile offline_access", "code_challenge_method": "S256"},
    )
    started = await rp.create_authorization_url(redirect_uri=REDIRECT_URI)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        back = query_of(await sign_in_for(browser, started["url"]))
    token = await rp.fetch_access_token(
        redirect_uri=REDIRECT_URI, code=back["code"], code_verifier=started["code_verifier"]
    )
    await set_paid_through(database_url, date(2020, 1, 31))  # the served portal's clock is real

    metadata = await rp.load_server_metadata()
    async with AsyncOAuth2Client(client_id="learn", client_secret=learn.secret) as client:
        with pytest.raises(OAuthError) as refused:
            await client.refresh_token(
                metadata["token_endpoint"], refresh_token=token["refresh_token"]
            )
        assert refused.value.error == "invalid_grant"
        with pytest.raises(httpx.HTTPStatusError) as userinfo:
            await rp.userinfo(token=token)
        assert userinfo.value.response.status_code == 401

        await set_paid_through(database_url, date(2030, 12, 31))  # renewed
        renewed = await client.refresh_token(
            metadata["token_endpoint"], refresh_token=token["refresh_token"]
        )
        assert (await rp.userinfo(token=renewed))["sub"] == "101"
