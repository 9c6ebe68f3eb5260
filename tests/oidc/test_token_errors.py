"""The token endpoint's refusals, table-driven (RFC 6749 §5.2: JSON, no-store), and what a
replayed code or an expired one does."""

from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from portal.auth.models import AuthSession
from tests.conftest import FakeClock
from tests.flows import VendorLogin, sign_in, unit_of_work
from tests.oidc.oidc_flows import (
    REDIRECT_URI,
    Pkce,
    add_oidc_vendor,
    audit_events,
    authorize_query,
    basic,
    bearer,
    grant_row,
    reasons,
    redirect_params,
    refresh,
    token_form,
)

pytestmark = pytest.mark.usefixtures("ada")


@pytest.fixture
async def other(database_url: str) -> VendorLogin:
    return await add_oidc_vendor(database_url, "other", domain="other.example.org")


async def code_for(client: Client, pkce: Pkce, **changes: str) -> str:
    answer = await client.get("/oidc/authorize", query_string=authorize_query(pkce, **changes))
    return redirect_params(answer.headers["Location"])["code"]


def credentials(kind: str, learn: VendorLogin, other: VendorLogin) -> dict[str, str]:
    """The Authorization header of each kind of caller."""
    return {
        "learn": basic(learn),
        "wrong secret": basic(learn, "wrong"),
        "unknown client": basic(VendorLogin("nobody", learn.secret)),
        "learn with other's secret": basic(learn, other.secret),
        "other": basic(other),
        "none": {},
    }[kind]


ANOTHER_VERIFIER = Pkce.new().verifier
# (the form's changes, who calls, the status and error expected, and the audit event and reason
# recorded: a refusal before the client or the grant was looked at records none)
CLIENT, GRANT = "oidc.client_auth", "oidc.token_rejected"  # the audit events of refusals
CASES: dict[str, tuple[dict[str, str], str, int, str, tuple[str, str] | None]] = {
    "wrong secret": ({}, "wrong secret", 401, "invalid_client", (CLIENT, "wrong_secret")),
    "unknown client": ({}, "unknown client", 401, "invalid_client", (CLIENT, "unknown_vendor")),
    "other vendor's secret": (
        {}, "learn with other's secret", 401, "invalid_client", (CLIENT, "wrong_secret"),
    ),
    "no client authentication": (
        {}, "none", 401, "invalid_client", (CLIENT, "no_credentials"),
    ),
    "confidential client as public": (
        # `none` is for public clients: for a confidential one, a wrong secret
        {"client_id": "learn"}, "none", 401, "invalid_client", (CLIENT, "wrong_secret"),
    ),
    "two methods": ({"client_secret": "s"}, "learn", 400, "invalid_request", None),
    "two client ids": ({"client_id": "other"}, "learn", 400, "invalid_request", None),
    "client_secret_post, wrong": (
        {"client_id": "learn", "client_secret": "x"}, "none", 401, "invalid_client",
        (CLIENT, "wrong_secret"),
    ),
    "wrong client for the code": ({}, "other", 400, "invalid_grant", (GRANT, "other_vendor")),
    "wrong verifier": (
        {"code_verifier": ANOTHER_VERIFIER}, "learn", 400, "invalid_grant", (GRANT, "pkce"),
    ),
    "malformed verifier": ({"code_verifier": "short"}, "learn", 400, "invalid_grant", None),
    "no verifier": ({"code_verifier": ""}, "learn", 400, "invalid_request", None),
    "other redirect_uri": (
        {"redirect_uri": REDIRECT_URI + "2"}, "learn", 400, "invalid_grant",
        (GRANT, "redirect_uri"),
    ),
    "no redirect_uri": ({"redirect_uri": ""}, "learn", 400, "invalid_request", None),
    "unknown code": ({"code": "x" * 43}, "learn", 400, "invalid_grant", (GRANT, "unknown")),
    "password grant": ({"grant_type": "password"}, "learn", 400, "unsupported_grant_type", None),
    "no grant_type": ({"grant_type": ""}, "learn", 400, "invalid_request", None),
    "unknown refresh token": (
        {"grant_type": "refresh_token", "refresh_token": "x" * 43}, "learn", 400,
        "invalid_grant", (GRANT, "unknown"),
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "caller", "status", "error", "audited"), CASES.values(), ids=CASES.keys()
)
async def test_refusals(
    app: Quart,
    learn: VendorLogin,
    other: VendorLogin,
    changes: dict[str, str],
    caller: str,
    status: int,
    error: str,
    audited: tuple[str, str] | None,
    database_url: str,
) -> None:
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    code = await code_for(client, pkce)
    form = {**token_form(code, pkce), **changes}
    headers = credentials(caller, learn, other)
    answer = await client.post("/oidc/token", form=form, headers=headers)
    body = await answer.get_json()
    assert (answer.status_code, body["error"]) == (status, error), body
    assert body["error_description"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    refusals = [
        (event, reason)
        for event in (CLIENT, GRANT)
        for reason in await reasons(database_url, event)
    ]
    assert refusals == ([audited] if audited else [])
    # A refused code is still good for its rightful client with the right verifier: a mistake
    # or a thief without the verifier spends nothing.
    good = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(learn))
    assert good.status_code == 200


async def test_the_token_endpoint_answers_only_post_in_json(app: Quart, learn: VendorLogin) -> None:
    answer = await app.test_client().get("/oidc/token")
    assert answer.status_code == 405
    assert (await answer.get_json())["error"] == "invalid_request"


async def test_an_expired_code_is_refused(
    app: Quart, learn: VendorLogin, clock: FakeClock, database_url: str
) -> None:
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    code = await code_for(client, pkce)
    clock.advance(seconds=60)
    answer = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(learn))
    assert (await answer.get_json())["error"] == "invalid_grant"
    assert [
        e.details["reason"] for e in await audit_events(database_url, "oidc.token_rejected")
    ] == ["expired"]


async def test_a_replayed_code_revokes_what_it_gave_but_not_the_session(
    app: Quart, learn: VendorLogin, database_url: str
) -> None:
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    code = await code_for(client, pkce)
    first = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(learn))
    tokens: dict[str, Any] = await first.get_json()
    replay = await client.post("/oidc/token", form=token_form(code, pkce), headers=basic(learn))
    assert replay.status_code == 400 and (await replay.get_json())["error"] == "invalid_grant"

    assert (
        await client.get("/oidc/userinfo", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    assert (await refresh(client, learn, tokens["refresh_token"])).status_code == 400
    replays = await audit_events(database_url, "oidc.code_replay")
    assert [(e.outcome, e.details["reason"]) for e in replays] == [("failure", "replay")]
    assert (await grant_row(database_url)).revoke_reason == "code_replay"
    # A code is no sign-out button: the member is still signed in, here and at every site.
    async with unit_of_work(database_url) as session:
        portal_session = await session.get(AuthSession, 1)
        assert portal_session is not None and portal_session.ended_at is None
    again = await client.get("/oidc/authorize", query_string=authorize_query(Pkce.new()))
    assert "code" in redirect_params(again.headers["Location"])


WITHOUT_THE_BINDING = {
    "another verifier": ({"code_verifier": ANOTHER_VERIFIER}, 0, "pkce"),
    "another redirect_uri": ({"redirect_uri": REDIRECT_URI + "2"}, 0, "redirect_uri"),
    "after its lifetime": ({}, 60, "expired"),
}


@pytest.mark.parametrize(
    ("changes", "later", "reason"), WITHOUT_THE_BINDING.values(), ids=WITHOUT_THE_BINDING.keys()
)
async def test_a_used_code_without_its_binding_revokes_nothing(
    app: Quart,
    clock: FakeClock,
    database_url: str,
    changes: dict[str, str],
    later: int,
    reason: str,
) -> None:
    """A public client's code, seen after use in a browser's history or a log: whoever presents
    it without the verifier and redirect URI, or too late, ends nothing."""
    await add_oidc_vendor(database_url, public_client=True)
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    code = await code_for(client, pkce)
    used = await client.post("/oidc/token", form=token_form(code, pkce, client_id="learn"))
    tokens = await used.get_json()
    clock.advance(seconds=later)
    seen = await client.post(
        "/oidc/token", form=token_form(code, pkce, client_id="learn", **changes)
    )
    assert (await seen.get_json())["error"] == "invalid_grant"
    assert await reasons(database_url, "oidc.token_rejected") == [reason]
    assert await audit_events(database_url, "oidc.code_replay") == []
    assert (
        await client.get("/oidc/userinfo", headers=bearer(tokens["access_token"]))
    ).status_code == 200
    assert (await grant_row(database_url)).revoked_at is None


async def test_a_public_client_uses_pkce_alone(app: Quart, database_url: str) -> None:
    await add_oidc_vendor(database_url, public_client=True)
    client, pkce = app.test_client(), Pkce.new()
    await sign_in(client)
    code = await code_for(client, pkce)
    wrong = await client.post("/oidc/token", form=token_form(code, Pkce.new(), client_id="learn"))
    assert (await wrong.get_json())["error"] == "invalid_grant"
    right = await client.post("/oidc/token", form=token_form(code, pkce, client_id="learn"))
    assert right.status_code == 200
    assert right.headers["Access-Control-Allow-Origin"] == "*"
