"""Two-factor sign-in for staff in Chromium, on a live portal whose clock the test moves (so
that a new code is due without waiting): an admin sets it up from Your account, signs out,
signs in with the password and a code, then with a recovery code, which then fails a second
time; and with PORTAL_STAFF_MFA=required an admin cannot reach the dashboard before setting it
up. The test makes codes with pyotp from the key shown as text, as a phone would."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from portal import clock as portal_clock
from portal import create_app
from portal.settings import Settings
from tests.admin.browser import STAFF_PASSWORD, add_staff
from tests.conftest import TEST_SECRET_KEY
from tests.flows import off_the_loop
from tests.live import bound_config, listening_socket, serving

EMAIL = "admin@example.org"


class MovableClock:
    """The real time, plus however far the test has moved it on."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class Portal:
    def __init__(self, url: str, clock: MovableClock) -> None:
        self.url, self.clock = url, clock


def live_portal(database_url: str, data_dir: Path, **settings: str) -> Iterator[Portal]:
    off_the_loop(lambda: asyncio.run(add_staff(database_url, EMAIL, "admin")))
    bind, port = listening_socket("127.0.0.1")
    config = Settings(
        env="development",
        database_url=database_url,
        data_dir=data_dir,
        secret_key=TEST_SECRET_KEY,
        **settings,  # type: ignore[arg-type]
    )
    app, clock = create_app(config), MovableClock()
    portal_clock.init_app(app, clock)
    url = f"http://127.0.0.1:{port}"
    with serving([(app, bound_config(bind, "portal"))], [f"{url}/healthz"]):
        yield Portal(url, clock)


@pytest.fixture
def portal(database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from live_portal(database_url, tmp_path)


@pytest.fixture
def strict_portal(database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from live_portal(database_url, tmp_path, staff_mfa="required")


def password_step(page: Page, portal: Portal) -> None:
    page.goto(f"{portal.url}/admin/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def code_step(page: Page, code: str) -> None:
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_role("textbox", name="Code").fill(code)
    page.get_by_role("button", name="Continue").click()


def set_up_two_factor(page: Page, portal: Portal) -> tuple[pyotp.TOTP, list[str]]:
    """On the set-up page: read the key shown as text, type the code it makes."""
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.locator(".qr-code svg")).to_be_visible()
    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text().replace(" ", ""))
    page.get_by_role("textbox", name="Code").fill(totp.at(portal.clock()))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    codes = page.locator("#recovery-codes").inner_text().split()
    assert len(set(codes)) == 10
    return totp, codes


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()


def test_an_admin_sets_up_two_factor_and_signs_in_with_a_code_then_a_recovery_code(
    staff_page: Page, portal: Portal
) -> None:
    page = staff_page
    password_step(page, portal)
    expect(page).to_have_url(f"{portal.url}/admin/")
    page.get_by_role("link", name=EMAIL).click()
    expect(page.get_by_test_id("two-factor")).to_contain_text("Off")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    totp, codes = set_up_two_factor(page, portal)
    page.get_by_role("link", name="I have saved them").click()
    sign_out(page)

    portal.clock.advance(seconds=30)  # the code typed at set-up is spent: wait for the next
    password_step(page, portal)
    expect(page).to_have_url(f"{portal.url}/admin/sign-in/code?next=%2Fadmin%2F")
    code_step(page, totp.at(portal.clock()))
    expect(page).to_have_url(f"{portal.url}/admin/")
    expect(page.get_by_role("navigation", name="Dashboard")).to_be_visible()
    sign_out(page)

    password_step(page, portal)
    code_step(page, codes[0])
    expect(page).to_have_url(f"{portal.url}/admin/")
    expect(page.get_by_role("status").filter(has_text="9 left")).to_be_visible()
    page.get_by_role("link", name=EMAIL).click()
    expect(page.get_by_test_id("two-factor")).to_contain_text("9 of 10")
    sign_out(page)

    password_step(page, portal)
    code_step(page, codes[0])
    expect(page.get_by_role("alert")).to_have_text("That code is not right, or was used.")
    expect(page).to_have_url(f"{portal.url}/admin/sign-in/code")
    page.goto(f"{portal.url}/admin/vendors")
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()


def test_a_required_admin_cannot_reach_the_dashboard_before_setting_it_up(
    staff_page: Page, strict_portal: Portal
) -> None:
    page, portal = staff_page, strict_portal
    password_step(page, portal)
    expect(page).to_have_url(f"{portal.url}/admin/account/two-factor")
    expect(page.get_by_text("Admins must set this up before using the dashboard")).to_be_visible()
    for path in ("/admin/", "/admin/vendors", "/admin/members", "/admin/staff", "/admin/audit"):
        page.goto(f"{portal.url}{path}")
        expect(page).to_have_url(f"{portal.url}/admin/account/two-factor")
    set_up_two_factor(page, portal)
    page.get_by_role("link", name="I have saved them").click()
    expect(page).to_have_url(f"{portal.url}/admin/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
