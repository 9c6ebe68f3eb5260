"""The sign-in form: credentials, equal answers for unknown accounts, throttling."""

import re
import time
from collections.abc import AsyncIterator

import pytest
from quart import Quart
from sqlalchemy import text

from portal.auth import throttle
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import VendorLogin, sign_in, unit_of_work

SSO = {"vendor": "acme"}
pytestmark = pytest.mark.usefixtures("ada", "acme")


def comparable(html: str, login: str) -> str:
    """The page without what legitimately differs: the CSRF token and the echoed login."""
    html = re.sub(r'name="csrf_token" value="[^"]*"', "", html)
    return html.replace(f'value="{login}"', 'value="LOGIN"')


async def sign_in_reasons(database_url: str) -> list[str]:
    """The audited reason of each sign-in refused, oldest first."""
    async with unit_of_work(database_url) as session:
        rows = await session.execute(
            text(
                "SELECT details->>'reason' FROM audit_event "
                "WHERE event = 'sign_in' AND outcome = 'failure' ORDER BY id"
            )
        )
        return [row[0] for row in rows]


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    app: Quart, database_url: str
) -> None:
    wrong = await sign_in(app.test_client(), login="ada", password="not the password", **SSO)
    unknown = await sign_in(app.test_client(), login="nobody", password="not the password", **SSO)
    assert wrong.status_code == unknown.status_code == 401
    assert comparable(await wrong.get_data(as_text=True), "ada") == comparable(
        await unknown.get_data(as_text=True), "nobody"
    )
    assert "not right" in await wrong.get_data(as_text=True)
    assert await sign_in_reasons(database_url) == ["wrong_password", "unknown_user"]


@pytest.mark.usefixtures("production_hashing")  # before the module's `ada`: her hash too
async def test_an_unknown_user_costs_a_password_check_too(app: Quart, database_url: str) -> None:
    """Timed in turns, and the fastest of each kept: other work on the machine only ever adds
    time, so the minimum is what the sign-in itself costs. Twenty turns each (the throttle's
    counts cleared after every four, below its free failures): on a loaded machine, five turns
    once left no quiet moment for one of the two."""
    timings: dict[str, list[float]] = {"ada": [], "nobody": []}
    for _ in range(5):
        for _ in range(4):
            for login, kept in timings.items():
                started = time.perf_counter()
                await sign_in(app.test_client(), login=login, password="not the password")
                kept.append(time.perf_counter() - started)
        async with unit_of_work(database_url) as session:
            await session.execute(text("DELETE FROM sign_in_throttle"))
    known, unknown = min(timings["ada"]), min(timings["nobody"])
    assert 0.5 < unknown / known < 2  # both pay for one argon2id verification


async def test_a_disabled_member_cannot_sign_in(app: Quart, database_url: str) -> None:
    async with unit_of_work(database_url) as session:
        await session.execute(text("UPDATE member SET enabled = false"))
    assert (await sign_in(app.test_client())).status_code == 401
    assert await sign_in_reasons(database_url) == ["disabled"]


async def failures(
    app: Quart, count: int, login: str = "ada", address: str = "203.0.113.7"
) -> list[int]:
    return [
        (
            await sign_in(app.test_client(), login=login, password="wrong!", address=address)
        ).status_code
        for _ in range(count)
    ]


@pytest.mark.parametrize("login", ["ada", "nobody"])
async def test_five_failures_then_the_account_waits(
    app: Quart, clock: FakeClock, login: str
) -> None:
    assert await failures(app, 6, login=login) == [401] * 5 + [429]
    blocked = await sign_in(app.test_client(), login=login, address="198.51.100.9")
    assert blocked.status_code == 429  # the right password does not get through either
    assert blocked.headers["Retry-After"] == "31"
    assert "wait 1 minute" in await blocked.get_data(as_text=True)
    clock.advance(seconds=31)
    assert (await failures(app, 1, login=login)) == [401]
    assert (await failures(app, 1, login=login)) == [429]  # the next delay is longer


async def test_throttled_answers_do_not_reveal_the_account(app: Quart) -> None:
    await failures(app, 5, login="ada")
    await failures(app, 5, login="nobody")
    real = await sign_in(app.test_client(), login="ada", password="x")
    fake = await sign_in(app.test_client(), login="nobody", password="x")
    assert real.status_code == fake.status_code == 429
    assert real.headers["Retry-After"] == fake.headers["Retry-After"]
    assert comparable(await real.get_data(as_text=True), "ada") == comparable(
        await fake.get_data(as_text=True), "nobody"
    )


async def test_a_success_resets_the_count(app: Quart) -> None:
    assert await failures(app, 4) == [401] * 4
    assert (await sign_in(app.test_client())).status_code == 303
    assert await failures(app, 4) == [401] * 4


@pytest.fixture
async def strict_app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    strict = {"throttle_lockout_failures": 8, "throttle_address_failures": 12}
    async with running_app(settings, clock, **strict) as app:
        yield app


async def test_after_the_lockout_count_only_staff_can_unlock(
    strict_app: Quart, clock: FakeClock, database_url: str
) -> None:
    for _ in range(8):
        clock.advance(hours=1)
        await failures(strict_app, 1, address=f"192.0.2.{_}")
    clock.advance(days=30)
    locked = await sign_in(strict_app.test_client(), address="192.0.2.99")
    assert locked.status_code == 429
    assert "locked" in await locked.get_data(as_text=True)
    assert await sign_in_reasons(database_url) == ["wrong_password"] * 8 + ["throttled"]
    async with unit_of_work(database_url) as session:
        await throttle.clear(session, ["member:ada"])
    assert (await sign_in(strict_app.test_client(), address="192.0.2.99")).status_code == 303


async def test_one_address_trying_many_accounts_is_throttled(
    strict_app: Quart, clock: FakeClock, database_url: str
) -> None:
    statuses = [(await failures(strict_app, 1, login=f"user{n}"))[0] for n in range(13)]
    assert statuses == [401] * 12 + [429]
    assert await sign_in_reasons(database_url) == ["unknown_user"] * 12 + ["throttled"]
    other = await sign_in(strict_app.test_client(), address="198.51.100.1")
    assert other.status_code == 303  # another address is not affected
    clock.advance(hours=1, seconds=1)
    assert (await sign_in(strict_app.test_client())).status_code == 303


async def test_every_attempt_is_audited_without_the_password(app: Quart, database_url: str) -> None:
    await failures(app, 6)
    await sign_in(app.test_client(), login="nobody", password="secret-guess-1")
    async with unit_of_work(database_url) as session:
        rows = list(
            await session.execute(
                text(
                    "SELECT outcome, username, details->>'reason' FROM audit_event "
                    "WHERE event = 'sign_in' ORDER BY id"
                )
            )
        )
        dump = str(list(await session.execute(text("SELECT * FROM audit_event"))))
    reasons = [row[2] for row in rows]
    assert reasons == ["wrong_password"] * 5 + ["throttled", "unknown_user"]
    assert "secret-guess-1" not in dump
    assert "wrong!" not in dump


async def test_the_throttle_does_not_reveal_which_names_share_an_account(app: Quart) -> None:
    """Five failures on an email, then its account's username: answered like an unknown email
    followed by an unknown name, so nobody learns that the two belong to one account."""
    await failures(app, 5, login="ADA@example.org")
    await failures(app, 5, login="nobody@example.org")
    linked = await sign_in(app.test_client(), login="ada", password="wrong!")
    unlinked = await sign_in(app.test_client(), login="nobody", password="wrong!")
    assert linked.status_code == unlinked.status_code == 401
    assert comparable(await linked.get_data(as_text=True), "ada") == comparable(
        await unlinked.get_data(as_text=True), "nobody"
    )


async def test_sign_in_through_the_vendor_keeps_working_after_failures(
    app: Quart, acme: VendorLogin
) -> None:
    await failures(app, 2)
    response = await sign_in(app.test_client(), **SSO)
    assert (response.status_code, response.headers["Location"]) == (303, "/sso/signin?vendor=acme")
