"""The user service's methods and budgets: only GET and POST exist (HEAD never spends a token),
and only calls that authenticated as a vendor spend that vendor's budget."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from quart import Quart
from sqlalchemy import text

from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import (
    VendorLogin,
    issue_token,
    live_portal,
    redeem,
    sign_in,
    token_for,
    unit_of_work,
)

SSO = {"vendor": "acme"}
SHARED = ("192.0.2.77", 5000)  # a shared address: a vendor's server and someone else's script
pytestmark = pytest.mark.usefixtures("ada")


async def signed_in_token(app: Quart) -> tuple[object, str]:
    client = app.test_client()
    await sign_in(client)
    return client, await token_for(client, **SSO)


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", "TRACE", "FOO"])
async def test_only_get_and_post_exist(app: Quart, acme: VendorLogin, method: str) -> None:
    client, token = await signed_in_token(app)
    response = await client.open(  # type: ignore[attr-defined]
        "/api/sso/user", method=method, query_string={"token": token}, headers=acme.basic()
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert response.headers["Cache-Control"] == "no-store"
    if method != "HEAD":
        assert (await response.get_json())["error"] == "invalid_request"
    assert (await redeem(client, acme, token)).status_code == 200  # the token was not spent
    assert (await client.get("/sso/signin", query_string=SSO)).status_code == 200  # nor the session


async def test_head_through_a_real_server_spends_nothing(
    database_url: str, tmp_path: Path, acme: VendorLogin
) -> None:
    token = await issue_token(database_url)
    with live_portal(database_url, tmp_path) as url:
        async with httpx.AsyncClient(base_url=url, timeout=15) as client:
            auth = (acme.key, acme.secret)
            head = await client.head("/api/sso/user", params={"token": token}, auth=auth)
            get = await client.get("/api/sso/user", params={"token": token}, auth=auth)
    assert (head.status_code, head.headers["Allow"]) == (405, "GET, POST")
    assert get.status_code == 200


@pytest.fixture
async def tight_app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    budgets = {"api_rate_per_minute": 3, "api_failed_auth_per_minute": 4}
    async with running_app(settings, clock, **budgets) as app:
        yield app


async def call(app: Quart, vendor: VendorLogin, secret: str | None = None) -> int:
    response = await app.test_client().get(
        "/api/sso/user",
        query_string={"token": "x" * 43},
        headers=vendor.basic(secret),
        scope_base={"client": SHARED},
    )
    return response.status_code


async def test_garbage_from_a_shared_address_cannot_spend_a_vendors_budget(
    tight_app: Quart, acme: VendorLogin
) -> None:
    garbage = [await call(tight_app, acme, "not the secret") for _ in range(10)]
    assert garbage == [401] * 4 + [429] * 6  # failures have a budget of their own
    assert [await call(tight_app, acme) for _ in range(4)] == [400, 400, 400, 429]


async def test_a_vendor_over_its_budget_is_audited_once_a_minute(
    tight_app: Quart, acme: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    statuses = [await call(tight_app, acme) for _ in range(8)]
    assert statuses == [400] * 3 + [429] * 5
    clock.advance(minutes=1)
    assert await call(tight_app, acme) == 400  # a new minute, a new budget
    async with unit_of_work(database_url) as session:
        rows = await session.execute(
            text(
                "SELECT vendor_key, details->>'bucket' FROM audit_event "
                "WHERE event = 'api.rate_limited'"
            )
        )
        assert list(rows) == [("acme", "vendor")]
