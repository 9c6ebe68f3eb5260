"""Single use under parallel requests through a real server with two worker processes: of N
concurrent redemptions of one code, or refreshes with one refresh token, exactly one wins; the
others are the replay they look like, and revoke what the winner got."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.flows import VendorLogin, live_portal
from tests.oidc.live_flows import query_of, sign_in_for
from tests.oidc.oidc_flows import Pkce, audit_events, authorize_query, basic, token_form

pytestmark = pytest.mark.usefixtures("ada")
N = 12


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, workers=2) as url:
        yield url


async def first_tokens(url: str, learn: VendorLogin) -> dict[str, Any]:
    pkce = Pkce.new()
    async with httpx.AsyncClient(base_url=url, timeout=60) as browser:
        back = await sign_in_for(browser, "/oidc/authorize?" + urlencode(authorize_query(pkce)))
        code = query_of(back)["code"]
        answer = await browser.post(
            "/oidc/token", data=token_form(code, pkce), headers=basic(learn)
        )
        assert answer.status_code == 200, answer.text
        return {"code": code, "pkce": pkce, **answer.json()}


async def at_once(url: str, learn: VendorLogin, form: dict[str, str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=N)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        return list(
            await asyncio.gather(
                *(client.post("/oidc/token", data=form, headers=basic(learn)) for _ in range(N))
            )
        )


async def test_one_code_redeemed_at_once_n_times_gives_tokens_once(
    two_workers: str, learn: VendorLogin, database_url: str
) -> None:
    pkce = Pkce.new()
    async with httpx.AsyncClient(base_url=two_workers, timeout=60) as browser:
        back = await sign_in_for(browser, "/oidc/authorize?" + urlencode(authorize_query(pkce)))
    code = query_of(back)["code"]
    answers = await at_once(two_workers, learn, token_form(code, pkce))
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: 1, 400: N - 1}, statuses
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}
    assert len(await audit_events(database_url, "oidc.code_redeemed")) == 1
    assert len(await audit_events(database_url, "oidc.code_replay")) == N - 1
    won = next(a.json() for a in answers if a.status_code == 200)
    async with httpx.AsyncClient(base_url=two_workers, timeout=60) as client:
        bearer = {"Authorization": f"Bearer {won['access_token']}"}
        assert (await client.get("/oidc/userinfo", headers=bearer)).status_code == 401


async def test_one_refresh_token_used_at_once_n_times_renews_once_then_the_family_is_revoked(
    two_workers: str, learn: VendorLogin, database_url: str
) -> None:
    tokens = await first_tokens(two_workers, learn)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    answers = await at_once(two_workers, learn, form)
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: 1, 400: N - 1}, statuses
    won = next(a.json() for a in answers if a.status_code == 200)
    async with httpx.AsyncClient(base_url=two_workers, timeout=60) as client:
        again = {"grant_type": "refresh_token", "refresh_token": won["refresh_token"]}
        refused = await client.post("/oidc/token", data=again, headers=basic(learn))
        assert refused.status_code == 400
    assert len(await audit_events(database_url, "oidc.refreshed")) == 1
    reuses = await audit_events(database_url, "oidc.refresh_reuse")
    assert len(reuses) == N - 1 and {e.details["reason"] for e in reuses} == {"reuse"}
