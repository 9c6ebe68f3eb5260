"""Rotating PORTAL_SECRET_KEY as docs/operations.md says (the new key with the old one as a
fallback, `portal keys reseal`, the old fallback removed) keeps OpenID Connect and single logout
up: the key set, the token endpoint, a logout with an old ID token as its hint, and every
pairwise `sub`. Skipping the reseal never gives a 500: what cannot be opened is skipped, staff
see it on the overview with what to do, and `portal keys rotate --now` recovers."""

from datetime import UTC, datetime
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from quart import Quart

from portal import claims, pairwise
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff, text
from tests.cli_runner import Runner
from tests.conftest import TEST_SECRET_KEY, FakeClock, running_app
from tests.flows import VendorLogin, off_the_loop, sign_in
from tests.oidc.oidc_flows import (
    POST_LOGOUT_URI,
    Pkce,
    add_oidc_vendor,
    audit_events,
    authorize_query,
    basic,
    redirect_params,
    token_form,
)

NEW_KEY = "a-new-secret-key-long-and-random-enough-Qm7Zt2Lx9Rv4"
NEW_THEN_OLD = {"secret_key": NEW_KEY, "secret_key_fallbacks": TEST_SECRET_KEY}
pytestmark = pytest.mark.usefixtures("ada", "admin")


async def tokens(app: Quart, login: VendorLogin, **query: str) -> tuple[int, dict[str, Any]]:
    """Ada signs in at the vendor: the token endpoint's status and answer."""
    client = app.test_client()
    assert (await sign_in(client)).status_code == 303
    pkce = Pkce.new()
    answer = await client.get("/oidc/authorize", query_string=authorize_query(pkce, **query))
    code = redirect_params(answer.headers["Location"])["code"]
    issued = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(login))
    return issued.status_code, await issued.get_json(silent=True) or {}


async def key_set(app: Quart) -> KeySet:
    answer = await app.test_client().get("/oidc/jwks")
    assert answer.status_code == 200
    return KeySet.import_key_set(await answer.get_json())


async def logout_with_hint(app: Quart, id_token: str) -> str:
    """Where an RP-initiated logout with this hint sends the browser."""
    query = {"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT_URI}
    answer = await app.test_client().get("/oidc/logout", query_string=query)
    assert answer.status_code == 303, await answer.get_data(as_text=True)
    return answer.headers["Location"]


@pytest.fixture
async def admin(database_url: str) -> None:
    await add_staff(database_url, "admin@example.org", "admin")


async def key_warnings(app: Quart) -> str:
    """The overview's "Errors to act on", as an admin sees it."""
    browser = Browser(app)
    assert (await browser.sign_in("admin@example.org")).status_code == 303
    body = await text(await browser.get("/admin/"))
    return body.split('id="errors-heading"')[1].split("</section>")[0]


def keys_command(portal: Runner, *argv: str, secret: str, fallbacks: str = "") -> int:
    """`portal keys …` as the operator runs it, with these secret keys."""
    portal.monkeypatch.setenv("PORTAL_SECRET_KEY", secret)
    portal.monkeypatch.setenv("PORTAL_SECRET_KEY_FALLBACKS", fallbacks)
    return off_the_loop(lambda: portal("keys", *argv))[0]


async def test_the_documented_steps_keep_oidc_logout_and_pairwise_subjects(
    settings: Settings, clock: FakeClock, database_url: str, portal: Runner
) -> None:
    learn = await add_oidc_vendor(database_url, pairwise_subject=True)
    async with running_app(settings, clock) as app:
        status, before = await tokens(app, learn)
        assert status == 200
    # 1. The old key signs, the new one is a fallback.
    async with running_app(settings, clock, secret_key_fallbacks=NEW_KEY) as app:
        assert (await tokens(app, learn))[0] == 200
    # 2. The new key signs, the old one is a fallback. 3. `portal keys reseal`.
    async with running_app(settings, clock, **NEW_THEN_OLD) as app:
        assert (await tokens(app, learn))[0] == 200
    assert keys_command(portal, "reseal", secret=NEW_KEY, fallbacks=TEST_SECRET_KEY) == 0
    # 4. The old key is removed.
    async with running_app(settings, clock, secret_key=NEW_KEY) as app:
        keys = await key_set(app)
        old = jwt.decode(before["id_token"], keys)
        status, after = await tokens(app, learn)
        assert status == 200
        new = jwt.decode(after["id_token"], keys)
        assert new.header["kid"] == old.header["kid"]  # the resealed key still signs
        assert new.claims["sub"] == old.claims["sub"]  # the pairwise subject did not move
        assert await logout_with_hint(app, before["id_token"]) == POST_LOGOUT_URI
        assert "portal keys" not in await key_warnings(app)
    assert await audit_events(database_url, "keys.made") == []


async def test_without_the_reseal_nothing_fails_staff_are_told_and_rotate_now_recovers(
    settings: Settings, clock: FakeClock, database_url: str, learn: VendorLogin, portal: Runner
) -> None:
    async with running_app(settings, clock) as app:
        status, before = await tokens(app, learn)
        assert status == 200
    async with running_app(settings, clock, secret_key=NEW_KEY) as app:  # no reseal, no fallback
        keys = await key_set(app)
        old_kid = jwt.decode(before["id_token"], keys).header["kid"]  # published all the same
        status, after = await tokens(app, learn)
        assert status == 200  # signed with a key made at once
        assert jwt.decode(after["id_token"], await key_set(app)).header["kid"] != old_kid
        assert await logout_with_hint(app, before["id_token"]) == POST_LOGOUT_URI
        warnings = await key_warnings(app)
        assert "cannot open 2 of its token-signing keys" in warnings
        assert "portal keys reseal" in warnings and "portal keys rotate --now" in warnings
    assert [e.details["reason"] for e in await audit_events(database_url, "keys.made")] == [
        "unreadable"
    ]
    assert keys_command(portal, "rotate", "--now", secret=NEW_KEY) == 0
    clock.current = datetime.now(UTC)  # the command ran on the system clock
    async with running_app(settings, clock, secret_key=NEW_KEY) as app:
        assert old_kid not in {key.kid for key in await key_set(app)}
        assert (await tokens(app, learn))[0] == 200
        assert "portal keys" not in await key_warnings(app)


async def test_a_pairwise_key_that_cannot_be_opened_stops_only_pairwise_sites_without_a_500(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    learn = await add_oidc_vendor(database_url, pairwise_subject=True)
    other = await add_oidc_vendor(database_url, "other", domain="other.example.org")
    async with running_app(settings, clock) as app:
        assert (await tokens(app, learn))[0] == 200
    async with running_app(settings, clock, secret_key=NEW_KEY) as app:
        status, answer = await tokens(app, learn)
        assert status == 503 and "cannot open the key" in answer["error_description"]
        assert (await tokens(app, other, client_id="other"))[0] == 200
        warnings = await key_warnings(app)
        assert "members cannot sign in to those sites" in warnings


async def test_the_pairwise_key_stored_is_the_one_used_before_it_was_stored(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    learn = await add_oidc_vendor(database_url, pairwise_subject=True)
    async with running_app(settings, clock) as app:
        _, answer = await tokens(app, learn)
        sub = jwt.decode(answer["id_token"], await key_set(app)).claims["sub"]
    # What the portal gave before it stored the key: a key derived from the secret key.
    assert sub == claims.member_subject("learn", True, "101", pairwise.seed(settings))
    # From then on the secret key plays no part.
    async with running_app(settings, clock, **NEW_THEN_OLD) as app:
        _, again = await tokens(app, learn)
        assert jwt.decode(again["id_token"], await key_set(app)).claims["sub"] == sub
