"""A compromised key is withdrawn at once (issue 21, 1): after `portal keys rotate --now` (or
`portal keys revoke`) no worker of a live `portal serve` publishes it — each keeps a copy of the
keys in memory, and each drops it as the command commits — and an ID token it signed is no
longer taken as a logout hint."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from quart import Quart

from portal import key_management
from portal.settings import Settings
from tests.flows import VendorLogin, live_portal, sign_in, unit_of_work
from tests.oidc.live_flows import rotate_keys
from tests.oidc.oidc_flows import (
    POST_LOGOUT_URI,
    Pkce,
    authorize_query,
    basic,
    redirect_params,
    token_form,
)

pytestmark = pytest.mark.usefixtures("ada")
REQUESTS = 24  # each on a connection of its own, so both workers answer some


def published_kids(url: str) -> list[frozenset[str]]:
    answers = []
    for _ in range(REQUESTS):
        with httpx.Client(base_url=url, timeout=30) as client:  # a new connection each time
            answer = client.get("/oidc/jwks")
            assert answer.status_code == 200
            assert answer.headers["Cache-Control"] == "public, max-age=60"
            answers.append(frozenset(key["kid"] for key in answer.json()["keys"]))
    return answers


def workers_that_served_the_keys(log: Path) -> Counter[int]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return Counter(line["pid"] for line in lines if line.get("path") == "/oidc/jwks")


def test_rotate_now_takes_the_old_keys_out_of_every_live_worker_at_once(
    database_url: str, tmp_path: Path
) -> None:
    with live_portal(database_url, tmp_path, workers=2) as url:
        before = published_kids(url)
        served_before = workers_that_served_the_keys(tmp_path / "portal.log")
        new = rotate_keys(database_url, tmp_path)  # --now, from another process
        after = published_kids(url)
        served = workers_that_served_the_keys(tmp_path / "portal.log") - served_before
    assert len(served_before) == 2 and len(served) == 2, (served_before, served)
    old = set(before[0])
    assert set(before) == {frozenset(old)} and len(old) == 2
    assert set(after) == {frozenset(new)}, "a worker still publishes a withdrawn key"


async def id_token(app: Quart, login: VendorLogin) -> str:
    client = app.test_client()
    assert (await sign_in(client)).status_code == 303
    pkce = Pkce.new()
    answer = await client.get("/oidc/authorize", query_string=authorize_query(pkce))
    code = redirect_params(answer.headers["Location"])["code"]
    issued = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(login))
    body: dict[str, Any] = await issued.get_json()
    return str(body["id_token"])


async def test_an_id_token_signed_with_a_withdrawn_key_is_no_logout_hint(
    app: Quart, learn: VendorLogin, database_url: str, settings: Settings
) -> None:
    hint = await id_token(app, learn)
    async with unit_of_work(database_url) as session:
        now = app.extensions["clock"]()
        await key_management.rotate(session, now=now, settings=settings, immediately=True)
    query = {"id_token_hint": hint, "post_logout_redirect_uri": POST_LOGOUT_URI}
    answer = await app.test_client().get("/oidc/logout", query_string=query)
    assert answer.status_code == 200  # the portal's own page, not back to the vendor
    assert "carried an ID token the portal did not issue" in await answer.get_data(as_text=True)
