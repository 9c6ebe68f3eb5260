"""The Back button after signing in and after signing out (issue 9, item 6): no answer of the
portal is kept by the browser, so Back never loops between /sign-in and /sso/signin and never
shows a dashboard page after sign-out. Every flow in test_sso.py and test_dashboard.py also
ends by pressing Back to the start of its history (steps.back_to_the_start)."""

import re

from playwright.sync_api import Page, expect

from e2e.steps import (
    ASSOCIATION,
    COURSE,
    back_to_the_start,
    fill_portal_sign_in,
    nav,
    sign_in_at_vendor,
    staff_sign_in,
)
from tests.live import ACME, LiveDemo


def test_back_after_signing_in_at_a_vendor_never_loops(page: Page, demo: LiveDemo) -> None:
    sign_in_at_vendor(page, demo, ACME, COURSE)
    stops = back_to_the_start(page, demo)
    assert f"200 {demo.vendor_urls[ACME]}{COURSE}" in stops  # the course page, on the way back


def test_back_after_staff_sign_out_shows_no_dashboard_page(
    staff_page: Page, demo: LiveDemo
) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    nav(page, "Members").click()
    page.get_by_role("searchbox", name="Search").fill("lovelace")
    # The search form sends its status filter too, blank for every member.
    expect(page).to_have_url(re.compile(r"/admin/members\?q=lovelace&status=$"))
    expect(page.get_by_role("link", name="Edit ada")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()

    for _ in range(3):  # the search, the member list, the overview: each asks to sign in
        page.go_back(wait_until="load")
        expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
        expect(page.get_by_role("link", name="Edit ada")).to_have_count(0)
        expect(page.get_by_text("Lovelace")).to_have_count(0)


def test_back_from_the_help_page_after_a_wrong_password_shows_the_sign_in_page(
    page: Page, demo: LiveDemo
) -> None:
    """Issue 26, item 10: a wrong password, "Trouble signing in?", then Back — the sign-in page
    for the same vendor, not the browser's "Confirm Form Resubmission"; and the help page's
    "Back to sign in" keeps the vendor too."""
    page.goto(demo.vendor_urls[ACME] + COURSE)
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    fill_portal_sign_in(page, password="not the password")
    expect(page.get_by_text("The username or password is not right.")).to_be_visible()
    page.get_by_role("link", name="Trouble signing in?").click()
    expect(page.get_by_role("heading", name="Trouble signing in?")).to_be_visible()

    page.go_back(wait_until="load")  # raises on net::ERR_CACHE_MISS (a POST asked again)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("signin-vendor")).to_contain_text("Acme Learning")
    expect(page.get_by_text("The username or password is not right.")).to_have_count(0)

    page.get_by_role("link", name="Trouble signing in?").click()
    page.get_by_role("link", name="Back to sign in").click()
    expect(page.get_by_test_id("signin-vendor")).to_contain_text("Acme Learning")
    fill_portal_sign_in(page)
    expect(page).to_have_url(demo.vendor_urls[ACME] + COURSE)
