"""The Back button at the demo vendors, the reference integration vendors copy (issue 26, item
11): one Back after signing in re-visits the portal, which answers the vendor's used `state`
again; the vendor sends the signed-in member on to the page instead of "Error 400". And no page
that showed the signed-in member comes back from the browser's cache after sign-out."""

import pytest
from playwright.sync_api import Page, expect

from e2e.steps import back_to_the_start, sign_in_at_vendor
from tests.live import ACME, EVENTHUB, FORUM, LiveDemo

VENDORS = [ACME, FORUM, EVENTHUB]  # Enhanced SSO, OpenID Connect, SAML 2.0


def deep_link(demo: LiveDemo, vendor: str) -> str:
    return "/catalogue/" + demo.sites[vendor].catalogue.items[0].slug


@pytest.mark.parametrize("vendor", VENDORS)
def test_one_back_after_signing_in_shows_the_page_signed_in(
    page: Page, demo: LiveDemo, vendor: str
) -> None:
    path = deep_link(demo, vendor)
    sign_in_at_vendor(page, demo, vendor, path)

    page.go_back(wait_until="load")
    expect(page).to_have_url(demo.vendor_urls[vendor] + path)
    expect(page.get_by_text("Error 400")).to_have_count(0)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    stops = back_to_the_start(page, demo)  # and Back still reaches the start: no trap
    assert not any(stop.startswith("400 ") for stop in stops), stops


@pytest.mark.parametrize("vendor", VENDORS)
def test_back_after_signing_out_shows_no_signed_in_page(
    page: Page, demo: LiveDemo, vendor: str
) -> None:
    path = deep_link(demo, vendor)
    sign_in_at_vendor(page, demo, vendor, path)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(demo.vendor_urls[vendor] + "/")
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)

    page.go_back(wait_until="load")  # the page that showed the member: asked for again
    expect(page).to_have_url(demo.vendor_urls[vendor] + path)
    expect(page.get_by_role("link", name="Sign in with Example Association")).to_be_visible()
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)
