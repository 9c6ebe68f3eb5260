"""The token and UserInfo endpoints' budgets (as at the Enhanced user service): failed client
logins count per network and are audited; a vendor's calls count against its own budget."""

import pytest
from sqlmodel import col, select

from portal.models import VendorSecret
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import VendorLogin, sign_in, unit_of_work
from tests.oidc.oidc_flows import (
    Pkce,
    audit_events,
    authorize_query,
    basic,
    redirect_params,
    token_form,
)

pytestmark = pytest.mark.usefixtures("ada")


async def test_failed_client_logins_are_audited_and_held_back(
    settings: Settings, clock: FakeClock, learn: VendorLogin, database_url: str
) -> None:
    async with running_app(settings, clock, api_failed_auth_per_minute=3) as app:
        client = app.test_client()
        form = {"grant_type": "refresh_token", "refresh_token": "x" * 43}
        statuses = [
            (await client.post("/oidc/token", form=form, headers=basic(learn, "wrong"))).status_code
            for _ in range(5)
        ]
        assert statuses == [401, 401, 401, 429, 429]
        limited = await client.post("/oidc/token", form=form, headers=basic(learn, "wrong"))
        assert (await limited.get_json())["error"] == "temporarily_unavailable"
        clock.advance(minutes=1)
        right = await client.post("/oidc/token", form=form, headers=basic(learn))
        assert right.status_code == 400  # authenticated; the token is what is wrong
    refusals = await audit_events(database_url, "oidc.client_auth")
    assert [(e.vendor_key, e.details["reason"]) for e in refusals[:3]] == [
        ("learn", "wrong_secret")
    ] * 3


async def test_a_vendors_calls_spend_its_own_budget(
    settings: Settings, clock: FakeClock, learn: VendorLogin, database_url: str
) -> None:
    async with running_app(settings, clock, api_rate_per_minute=2) as app:
        client = app.test_client()
        await sign_in(client)
        pkce = Pkce.new()
        answer = await client.get("/oidc/authorize", query_string=authorize_query(pkce))
        code = redirect_params(answer.headers["Location"])["code"]
        first = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(learn))
        access = (await first.get_json())["access_token"]
        bearer = {"Authorization": f"Bearer {access}"}
        assert (await client.get("/oidc/userinfo", headers=bearer)).status_code == 200
        limited = await client.get("/oidc/userinfo", headers=bearer)
        assert limited.status_code == 429 and limited.headers["Retry-After"]
        assert (await limited.get_json())["error"] == "temporarily_unavailable"
    over = await audit_events(database_url, "api.rate_limited")  # UserInfo's refusal too
    assert [(e.vendor_key, e.details["bucket"]) for e in over] == [("learn", "vendor")]
    async with unit_of_work(database_url) as session:
        used = await session.exec(
            select(VendorSecret).where(col(VendorSecret.last_used_at).is_not(None))
        )
        assert len(used.all()) == 1  # the secret's last use is shown to staff
