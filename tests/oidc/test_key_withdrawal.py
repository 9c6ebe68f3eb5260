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
MOST_REQUESTS = 400  # which worker takes a new connection is the kernel's choice: ask again


def published_kids(url: str, log: Path, served_before: Counter[int]) -> list[frozenset[str]]:
    """The key ids of REQUESTS answers or more: as many as it takes for both workers to have
    answered some since `served_before`, so that each is seen to publish what it holds."""
    answers: list[frozenset[str]] = []
    while len(answers) < REQUESTS or len(served_since(log, served_before)) < 2:
        assert len(answers) < MOST_REQUESTS, f"one worker answered all: {answers[-1]}"
        with httpx.Client(base_url=url, timeout=30) as client:  # a new connection each time
            answer = client.get("/oidc/jwks")
            assert answer.status_code == 200
            assert answer.headers["Cache-Control"] == "public, max-age=60"
            answers.append(frozenset(key["kid"] for key in answer.json()["keys"]))
    return answers


def served_since(log: Path, served_before: Counter[int]) -> Counter[int]:
    """Which workers (by process id) answered /oidc/jwks since `served_before` was read."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    served = Counter(line["pid"] for line in lines if line.get("path") == "/oidc/jwks")
    return served - served_before


def test_rotate_now_takes_the_old_keys_out_of_every_live_worker_at_once(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "portal.log"
    with live_portal(database_url, tmp_path, workers=2) as url:
        before = published_kids(url, log, Counter())
        served_before = served_since(log, Counter())
        new = rotate_keys(database_url, tmp_path)  # --now, from another process
        after = published_kids(url, log, served_before)
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
