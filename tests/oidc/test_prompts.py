"""prompt=login, max_age and login_hint through the shared sign-in page: a fresh sign-in is
asked for, cannot be skipped by going back to the continuation, and does not loop."""

from urllib.parse import parse_qs, urlsplit

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from tests.conftest import FakeClock
from tests.flows import page, sign_in
from tests.oidc.oidc_flows import Pkce, authorize_query, redirect_params

pytestmark = pytest.mark.usefixtures("ada", "learn")


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
