"""The member's account page in Chromium (issue 25): signed in in two browsers, at Acme Learning
in the second, the member signs the second out from the first's /account — by keyboard, on a
390 px phone — and the portal tells Acme Learning, which shows the member signed out."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from pytest_playwright import CreateContextCallback

from e2e.conftest import watched
from e2e.steps import ASSOCIATION, COURSE, fill_portal_sign_in, sign_in_at_vendor, starts_with
from tests.live import ACME, LiveDemo, wait_for_delivery

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def second_browser(
    new_context: CreateContextCallback, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """Another browser of the same member, with cookies of its own."""
    yield from watched(new_context(), request, "-second")


def test_the_account_page_signs_another_browser_out_and_the_vendor_is_told(
    page: Page, second_browser: Page, demo: LiveDemo
) -> None:
    sign_in_at_vendor(second_browser, demo, ACME, COURSE)

    page.set_viewport_size(PHONE)
    page.goto(demo.portal_url + "/")
    page.get_by_role("link", name="Sign in").click()
    fill_portal_sign_in(page)
    page.get_by_role("link", name="Your account").click()
    expect(page).to_have_url(demo.portal_url + "/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    sign_ins = page.get_by_test_id("sign-in")
    expect(sign_ins).to_have_count(2)
    other = sign_ins.filter(has_not=page.get_by_test_id("this-device"))
    expect(other).to_contain_text("Acme Learning")
    expect(other).to_contain_text("127.0.0.x")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # By keyboard: the other browser's button takes the focus, and Enter presses it.
    button = other.get_by_role("button", name="Sign out", exact=False)
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("That browser is signed out")
    expect(sign_ins).to_have_count(1)
    expect(page.get_by_test_id("this-device")).to_be_visible()

    wait_for_delivery(demo, ACME)
    second_browser.reload()
    expect(second_browser.get_by_test_id("vendor-member")).to_have_count(0)
    expect(second_browser.get_by_test_id("vendor-notice")).to_have_text(
        f"You signed out of {ASSOCIATION}, so you are signed out here too."
    )
    # Its portal session is gone too: the account page asks it to sign in.
    second_browser.goto(demo.portal_url + "/account")
    expect(second_browser).to_have_url(starts_with(f"{demo.portal_url}/sign-in?"))


def test_the_password_form_is_labelled_and_refuses_a_wrong_current_password(
    page: Page, demo: LiveDemo
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(demo.portal_url + "/account")
    expect(page).to_have_url(starts_with(f"{demo.portal_url}/sign-in?"))
    fill_portal_sign_in(page)
    expect(page).to_have_url(demo.portal_url + "/account")
    page.get_by_label("Current password").fill("not the password")
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_label("The new password again").fill("a brand new passphrase")
    page.get_by_label("The new password again").press("Enter")
    expect(page.get_by_text("That is not your current password.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download your data").click()
    assert download.value.suggested_filename == "my-account-data.json"
