"""prompt=login, max_age and login_hint through the shared sign-in page: a fresh sign-in is
asked for, cannot be skipped by going back to the continuation, and does not loop. prompt=consent
shows the member what the site will receive first; select_account is not advertised."""

from urllib.parse import parse_qs, urlsplit

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from portal import claims
from portal.oidc import registration
from tests.conftest import FakeClock
from tests.flows import Inputs, page, sign_in
from tests.oidc.oidc_flows import Pkce, audit_events, authorize_query, redirect_params

pytestmark = pytest.mark.usefixtures("ada", "learn")
CONSENT = "/oidc/authorize/consent"


def next_of(location: str) -> str:
    assert location.startswith("/sign-in?"), location
    return parse_qs(urlsplit(location).query)["next"][0]


async def authorize(client: Client, **changes: str | None) -> str:
    answer = await client.get(
        "/oidc/authorize", query_string=authorize_query(Pkce.new(), **changes)
    )
    assert answer.status_code == 303
    return answer.headers["Location"]


async def test_prompt_login_asks_again_and_continues_once_signed_in(
    app: Quart, clock: FakeClock
) -> None:
    client = app.test_client()
    await sign_in(client)
    clock.advance(minutes=5)
    continuation = next_of(await authorize(client, prompt="login"))
    assert "login_after=" in continuation

    # Back at the continuation without signing in: asked again, never a code.
    assert (await client.get(continuation)).headers["Location"].startswith("/sign-in?")
    form = await client.get("/sign-in", query_string={"next": continuation})
    assert form.status_code == 200  # the form, though the member has a session

    clock.advance(seconds=20)
    signed = await sign_in(client, next=continuation)
    assert signed.headers["Location"] == continuation
    done = await client.get(continuation)
    assert "code" in redirect_params(done.headers["Location"])


async def test_a_forged_mark_does_not_count(app: Quart, clock: FakeClock) -> None:
    client = app.test_client()
    await sign_in(client)
    clock.advance(minutes=5)
    forged = await authorize(client, prompt="login", login_after=clock.current.isoformat())
    assert forged.startswith("/sign-in?")


async def test_an_old_mark_does_not_count(app: Quart, clock: FakeClock) -> None:
    """A continuation kept from before a sign-in (someone else's, on a shared computer) is no
    way past prompt=login for long: its mark lapses after 30 minutes."""
    client = app.test_client()
    continuation = next_of(await authorize(client, prompt="login"))
    clock.advance(seconds=1)
    await sign_in(client)  # a sign-in that did not come from this continuation
    clock.advance(minutes=20)
    await authorize(client)  # the member goes on using the portal session
    clock.advance(minutes=15)
    assert (await client.get(continuation)).headers["Location"].startswith("/sign-in?")


async def test_max_age_asks_again_only_when_the_sign_in_is_older(
    app: Quart, clock: FakeClock
) -> None:
    client = app.test_client()
    await sign_in(client)
    clock.advance(seconds=100)
    assert "code" in redirect_params(await authorize(client, max_age="300"))
    continuation = next_of(await authorize(client, max_age="60"))
    clock.advance(seconds=1)
    await sign_in(client, next=continuation)
    clock.advance(seconds=2)
    assert "code" in redirect_params((await client.get(continuation)).headers["Location"])


async def test_max_age_zero_does_not_loop(app: Quart, clock: FakeClock) -> None:
    client = app.test_client()
    continuation = next_of(await authorize(client, max_age="0"))
    clock.advance(seconds=1)
    await sign_in(client, next=continuation)
    clock.advance(seconds=1)
    assert "code" in redirect_params((await client.get(continuation)).headers["Location"])


async def test_prompt_none_with_an_old_sign_in_and_max_age_is_login_required(
    app: Quart, clock: FakeClock
) -> None:
    client = app.test_client()
    await sign_in(client)
    clock.advance(minutes=10)
    answer = await authorize(client, prompt="none", max_age="60")
    assert redirect_params(answer)["error"] == "login_required"


async def test_login_hint_fills_in_the_username(app: Quart) -> None:
    client = app.test_client()
    continuation = next_of(await authorize(client, login_hint="ada@example.org"))
    form = await client.get("/sign-in", query_string={"next": continuation})
    html = await form.get_data(as_text=True)
    assert 'value="ada@example.org"' in html
    assert "Learn Academy" in html
    assert (await page(form)).hidden["next"] == continuation


async def test_discovery_advertises_only_the_prompts_honoured(app: Quart) -> None:
    found = await (await app.test_client().get("/.well-known/openid-configuration")).get_json()
    assert found["prompt_values_supported"] == ["none", "login", "consent"]


def test_every_scope_a_site_can_be_granted_has_words_for_the_member() -> None:
    assert set(registration.MEMBER_SCOPE_WORDS) == set(claims.ALL_SCOPES)


async def consent_page(client: Client, **changes: str) -> Inputs:
    """The page prompt=consent shows a signed-in member, and no code yet."""
    answer = await client.get(
        "/oidc/authorize", query_string=authorize_query(Pkce.new(), prompt="consent", **changes)
    )
    assert answer.status_code == 200, answer.headers.get("Location")
    policy = answer.headers["Content-Security-Policy"]
    assert "form-action 'self' https://learn.example.org https://*.learn.example.org" in policy
    form = await page(answer)
    assert form.forms[-1]["action"] == "/oidc/authorize/consent"
    return form


async def test_prompt_consent_shows_what_the_site_will_receive_first(
    app: Quart, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    answer = await client.get(
        "/oidc/authorize",
        query_string=authorize_query(Pkce.new(), prompt="consent", scope="openid email"),
    )
    html = await answer.get_data(as_text=True)
    assert "Continue to Learn Academy?" in html
    assert "Your email address" in html and "Your name" not in html
    assert await audit_events(database_url, "oidc.authorized") == []

    form = await consent_page(client, scope="openid email")
    going = await client.post(CONSENT, form={**form.hidden, "answer": "continue"})
    assert "code" in redirect_params(going.headers["Location"])
    (authorized,) = await audit_events(database_url, "oidc.authorized")
    assert authorized.details["consented"] is True


async def test_cancel_on_the_consent_page_is_access_denied(app: Quart, database_url: str) -> None:
    client = app.test_client()
    await sign_in(client)
    form = await consent_page(client)
    going = await client.post(CONSENT, form={**form.hidden, "answer": "cancel"})
    params = redirect_params(going.headers["Location"])
    assert (params["error"], params["state"]) == ("access_denied", "rp-state-1")
    (refused,) = await audit_events(database_url, "oidc.rejected")
    assert refused.details["reason"] == "access_denied" and refused.member_id is not None
    assert await audit_events(database_url, "oidc.authorized") == []


async def test_the_consent_answer_needs_the_pages_csrf_token(app: Quart, database_url: str) -> None:
    """Another site cannot answer for the member: a POST without the page's token does nothing."""
    client = app.test_client()
    await sign_in(client)
    form = await consent_page(client)
    forged = {name: value for name, value in form.hidden.items() if name != "csrf_token"}
    going = await client.post(CONSENT, form={**forged, "answer": "continue"})
    assert going.status_code == 403 and "Location" not in going.headers
    assert await audit_events(database_url, "oidc.authorized") == []


async def test_prompt_consent_comes_after_the_sign_in(app: Quart) -> None:
    client = app.test_client()
    continuation = next_of(await authorize(client, prompt="consent"))
    await sign_in(client, next=continuation)
    shown = await client.get(continuation)
    assert shown.status_code == 200 and "Continue to Learn Academy?" in await shown.get_data(
        as_text=True
    )
