"""Who may use a site, end to end in Chromium (issue 25): staff restrict CareerHub Jobs to
members in good standing on its "Who may use it" tab; a member not in good standing who signs in
there sees the refusal page — why, the renewal link, the way back — and no CareerHub on My sites;
a current member signs in as before."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e.steps import ASSOCIATION, fill_portal_sign_in, open_vendor, staff_sign_in, starts_with
from tests.live import CAREERHUB, LiveDemo, live_demo

RENEWAL = "https://example.org/renew"


@pytest.fixture
def demo(database_url: str, tmp_path: Path) -> Iterator[LiveDemo]:
    with live_demo(database_url, tmp_path, renewal_url=RENEWAL) as running:
        yield running


def test_staff_restrict_a_site_and_members_see_why(
    page: Page, staff_page: Page, demo: LiveDemo
) -> None:
    staff_sign_in(staff_page, demo)
    open_vendor(staff_page, demo, "CareerHub Jobs", "Who may use it")
    staff_page.get_by_label("Members in good standing only").check()
    staff_page.get_by_role("button", name="Save", exact=True).click()
    expect(staff_page.get_by_test_id("access-saved")).to_contain_text("Members in good standing")

    careerhub = demo.vendor_urls[CAREERHUB]
    page.goto(careerhub + "/")
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    fill_portal_sign_in(page, "alan")  # status I, paid through 2024: not in good standing
    expect(page.get_by_role("heading", name="You cannot use CareerHub Jobs")).to_be_visible()
    expect(page.get_by_test_id("refusal-why")).to_have_text(
        "CareerHub Jobs is for members whose membership is current; "
        "your membership record is not active."
    )
    expect(page.get_by_test_id("renewal-link")).to_have_attribute("href", RENEWAL)
    expect(page.get_by_test_id("help-link")).to_be_visible()
    page.get_by_test_id("back-to-site").click()
    expect(page).to_have_url(starts_with(careerhub))
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)  # not signed in there

    page.goto(demo.portal_url + "/")
    sites = page.get_by_role("region", name="My sites")
    expect(sites.get_by_role("link", name="Acme Learning")).to_be_visible()
    expect(sites.get_by_text("CareerHub Jobs")).to_have_count(0)
    page.get_by_role("button", name="Sign out").first.click()
    expect(page).to_have_url(starts_with(demo.portal_url + "/signed-out"))

    page.goto(careerhub + "/")
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    fill_portal_sign_in(page, "ada")  # paid through 2030
    expect(page).to_have_url(starts_with(careerhub))
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
