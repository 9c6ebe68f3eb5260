"""Device cookies: a stranger failing on purpose cannot keep a member (or an admin) out of the
browser they signed in with before, from any address, while unknown browsers stay throttled."""

from collections.abc import AsyncIterator

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from portal.auth import devices
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff
from tests.conftest import TEST_SECRET_KEY, FakeClock, running_app
from tests.flows import PASSWORD, add_member, sign_in

NAT = "198.51.100.20"  # the member and the stranger behind one shared address
pytestmark = pytest.mark.usefixtures("ada")


@pytest.fixture
async def strict_app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    strict = {"throttle_lockout_failures": 8, "throttle_address_failures": 12}
    async with running_app(settings, clock, **strict) as app:
        yield app


async def lock_out(app: Quart, clock: FakeClock, login: str = "ada") -> None:
    """A stranger's script: wrong passwords from the shared address until the name is locked
    and the address is held back too."""
    for n in range(14):
        clock.advance(minutes=16)  # past each delay, within the address's hour
        await sign_in(
            app.test_client(), login=login if n < 8 else f"x{n}", password="no", address=NAT
        )


async def usual_browser(app: Quart) -> Client:
    client = app.test_client()
    assert (await sign_in(client, address=NAT)).status_code == 303
    await client.get("/sso/signout", query_string={"vendor": "nobody"})  # signed out, device kept
    return client


async def test_the_members_usual_browser_still_signs_in(
    strict_app: Quart, clock: FakeClock
) -> None:
    browser = await usual_browser(strict_app)
    await lock_out(strict_app, clock)
    stranger = await sign_in(strict_app.test_client(), address="192.0.2.50")
    assert stranger.status_code == 429 and "locked" in await stranger.get_data(as_text=True)
    shared = await sign_in(strict_app.test_client(), address=NAT)
    assert shared.status_code == 429  # an unknown browser behind the attacked address waits
    assert (await sign_in(browser, address=NAT)).status_code == 303


async def test_the_device_counts_for_its_own_account_only(
    strict_app: Quart, clock: FakeClock, database_url: str
) -> None:
    await add_member(database_url, imis_id="102", username="grace", email="grace@example.org")
    browser = await usual_browser(strict_app)  # ada's browser
    await lock_out(strict_app, clock, login="grace")
    assert (await sign_in(browser, login="grace", address=NAT)).status_code == 429


async def test_a_trusted_browser_is_throttled_on_its_own(strict_app: Quart) -> None:
    browser = await usual_browser(strict_app)
    statuses = [
        (await sign_in(browser, password="wrong!", address=NAT)).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    assert (await sign_in(strict_app.test_client(), address="192.0.2.9")).status_code == 303


async def test_a_forged_or_foreign_device_cookie_is_an_unknown_browser(
    strict_app: Quart, clock: FakeClock
) -> None:
    await lock_out(strict_app, clock)
    for value in (
        "forged",
        devices.issue("member", 1, "another portal's key is not ours at all"),
        devices.issue("staff", 1, TEST_SECRET_KEY),  # a staff device is not a member device
    ):
        client = strict_app.test_client()
        client.set_cookie("localhost", "portal_member_device", value)
        assert (await sign_in(client, address="192.0.2.60")).status_code == 429


async def test_an_admins_usual_browser_still_signs_in(
    strict_app: Quart, clock: FakeClock, database_url: str
) -> None:
    await add_staff(database_url, "jo@example.org", "admin")
    usual = Browser(strict_app)
    assert (await usual.sign_in("jo@example.org")).status_code == 303
    await usual.post("/admin/sign-out")
    for _ in range(8):
        clock.advance(minutes=16)
        await Browser(strict_app).sign_in("jo@example.org", "wrong password")
    assert (await Browser(strict_app).sign_in("jo@example.org")).status_code == 429
    assert (await usual.sign_in("jo@example.org")).status_code == 303


def test_the_cookie_is_signed_and_says_nothing_else(settings: Settings) -> None:
    value = devices.issue("member", 42, TEST_SECRET_KEY)
    assert devices.read("member", value, TEST_SECRET_KEY) is not None
    tampered = value[:-2] + ("yy" if value[-2] == "x" else "xx")
    assert devices.read("member", tampered, TEST_SECRET_KEY) is None
    assert devices.read("member", value, "some other key entirely, also long") is None
    assert PASSWORD not in value
