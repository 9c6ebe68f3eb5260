"""PORTAL_ISSUER: the public origin in every ID token and answer; https in production."""

import pytest

from portal.settings import Settings, SettingsError, load_settings
from tests.conftest import TEST_SECRET_KEY, FakeClock, running_app
from tests.flows import VendorLogin, sign_in
from tests.oidc.oidc_flows import Pkce, authorize_query, redirect_params

PRODUCTION = {"env": "production", "secret_key": TEST_SECRET_KEY}


def test_the_issuer_is_the_public_url_unless_set() -> None:
    settings = load_settings(**PRODUCTION, public_url="https://sso.example.org/")
    assert settings.issuer == "https://sso.example.org"
    own = load_settings(
        **PRODUCTION, public_url="https://sso.example.org", issuer="https://id.example.org"
    )
    assert own.issuer == "https://id.example.org"


@pytest.mark.parametrize(
    "issuer",
    [
        "http://sso.example.org",
        "https://sso.example.org/oidc",
        "https://localhost",
        "sso.example.org",
    ],
)
def test_production_refuses_an_issuer_that_is_not_a_public_https_origin(issuer: str) -> None:
    with pytest.raises(SettingsError, match="PORTAL_ISSUER"):
        load_settings(**PRODUCTION, public_url="https://sso.example.org", issuer=issuer)


def test_development_may_use_http() -> None:
    assert load_settings(env="development", issuer="http://localhost:8000").issuer == (
        "http://localhost:8000"
    )


@pytest.mark.usefixtures("ada")
async def test_the_issuer_is_what_vendors_see(
    settings: Settings, clock: FakeClock, learn: VendorLogin
) -> None:
    async with running_app(settings, clock, issuer="https://sso.example.org") as app:
        client = app.test_client()
        found = await (await client.get("/.well-known/openid-configuration")).get_json()
        assert found["issuer"] == "https://sso.example.org"
        assert found["token_endpoint"] == "https://sso.example.org/oidc/token"
        await sign_in(client)
        answer = await client.get("/oidc/authorize", query_string=authorize_query(Pkce.new()))
        assert redirect_params(answer.headers["Location"])["iss"] == "https://sso.example.org"
