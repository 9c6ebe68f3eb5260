"""A new PORTAL_SECRET_KEY signs nobody out while the old one is in PORTAL_SECRET_KEY_FALLBACKS:
member sessions, the CSRF cookie and device cookies signed with it are still good; without the
fallback they are not (docs/operations.md: rotating the secret key)."""

import pytest

from portal.auth import devices
from portal.settings import Settings
from tests.conftest import TEST_SECRET_KEY, FakeClock, running_app
from tests.flows import sign_in

NEW_KEY = "a-new-secret-key-long-and-random-enough-Qm7Zt2Lx9Rv4"
pytestmark = pytest.mark.usefixtures("ada", "acme")


async def signed_in_cookies(settings: Settings, clock: FakeClock) -> str:
    async with running_app(settings, clock) as app:
        client = app.test_client()
        assert (await sign_in(client)).status_code == 303
        return "; ".join(f"{c.name}={c.value}" for c in client.cookie_jar or [])


async def silent_sign_in_status(
    settings: Settings, clock: FakeClock, cookies: str, **keys: str
) -> int:
    async with running_app(settings, clock, secret_key=NEW_KEY, **keys) as app:
        response = await app.test_client().get(
            "/sso/signin", query_string={"vendor": "acme"}, headers={"Cookie": cookies}
        )
    return response.status_code


async def test_a_session_signed_with_the_old_key_survives_with_the_fallback(
    settings: Settings, clock: FakeClock
) -> None:
    cookies = await signed_in_cookies(settings, clock)
    kept = await silent_sign_in_status(
        settings, clock, cookies, secret_key_fallbacks=TEST_SECRET_KEY
    )
    assert kept == 200  # the token-post page: still signed in
    assert await silent_sign_in_status(settings, clock, cookies) == 303  # to the sign-in page


def test_a_device_cookie_signed_with_the_old_key_is_still_known() -> None:
    cookie = devices.issue("member", 7, TEST_SECRET_KEY)
    assert devices.read("member", cookie, NEW_KEY, [TEST_SECRET_KEY]) == devices.read(
        "member", cookie, TEST_SECRET_KEY
    )
    assert devices.read("member", cookie, NEW_KEY) is None
