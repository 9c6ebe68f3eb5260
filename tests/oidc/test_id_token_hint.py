"""id_token_hint at the authorization endpoint (Core §3.1.2.1): a hint the portal did not issue
is refused (tests/oidc/test_authorize_errors.py); one that names another member than the
session's is login_required with prompt=none, and otherwise the sign-in page, as Keycloak does.
The member is compared by their `sub` at the vendor, pairwise ones included."""

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from tests.conftest import FakeClock
from tests.flows import VendorLogin, add_member, sign_in
from tests.oidc.oidc_flows import (
    Pkce,
    add_oidc_vendor,
    audit_events,
    authorize_query,
    redirect_params,
)
from tests.oidc.test_prompts import next_of
from tests.oidc.test_userinfo_and_logout import tokens_for

pytestmark = pytest.mark.usefixtures("ada")


@pytest.fixture
async def graces_hint(app: Quart, database_url: str, learn: VendorLogin) -> str:
    """An ID token of grace's, from a browser where ada is signed in since."""
    await add_member(database_url, imis_id="202", username="grace", email="grace@example.org")
    client = app.test_client()
    await sign_in(client, "grace")
    return str((await tokens_for(client, learn))["id_token"])


async def authorize(client: Client, **changes: str) -> str:
    answer = await client.get(
        "/oidc/authorize", query_string=authorize_query(Pkce.new(), **changes)
    )
    assert answer.status_code == 303
    return answer.headers["Location"]


async def test_prompt_none_with_a_hint_for_another_member_is_login_required(
    app: Quart, learn: VendorLogin, graces_hint: str, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    answer = await authorize(client, prompt="none", id_token_hint=graces_hint)
    assert redirect_params(answer)["error"] == "login_required"
    (checked,) = await audit_events(database_url, "oidc.login_required")
    assert (checked.vendor_key, checked.details["reason"]) == ("learn", "other_member")

    adas_hint = (await tokens_for(client, learn))["id_token"]
    assert "code" in redirect_params(
        await authorize(client, prompt="none", id_token_hint=adas_hint)
    )


async def test_a_pairwise_hint_names_its_own_member(app: Quart, database_url: str) -> None:
    pair = await add_oidc_vendor(
        database_url, "pair", domain="pair.example.org", pairwise_subject=True
    )
    client = app.test_client()
    await sign_in(client)
    hint = (await tokens_for(client, pair, key="pair"))["id_token"]
    answer = await authorize(client, client_id="pair", prompt="none", id_token_hint=hint)
    assert "code" in redirect_params(answer)


async def test_a_hint_for_another_member_asks_for_a_sign_in_and_then_follows_it(
    app: Quart, learn: VendorLogin, graces_hint: str, clock: FakeClock
) -> None:
    client = app.test_client()
    await sign_in(client)
    continuation = next_of(await authorize(client, id_token_hint=graces_hint))
    form = await client.get("/sign-in", query_string={"next": continuation})
    assert form.status_code == 200  # the form, though ada has a session

    clock.advance(seconds=1)
    await sign_in(client, "grace", next=continuation)
    code = redirect_params((await client.get(continuation)).headers["Location"])
    assert "code" in code


async def test_whoever_signs_in_for_the_request_is_answered_without_a_loop(
    app: Quart, learn: VendorLogin, graces_hint: str, clock: FakeClock
) -> None:
    client = app.test_client()
    await sign_in(client)
    continuation = next_of(await authorize(client, id_token_hint=graces_hint))
    clock.advance(seconds=1)
    await sign_in(client, next=continuation)  # ada again: the member chose
    assert "code" in redirect_params((await client.get(continuation)).headers["Location"])
