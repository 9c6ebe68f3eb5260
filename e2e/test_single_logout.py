"""Single logout in Chromium (issue 16): signed in at both demo vendors, the member signs out at
one; the portal tells the other by its back channel, and the other shows the member signed out
on its next page load."""

import re

from playwright.sync_api import Page, expect

from e2e.steps import ASSOCIATION, COURSE, nav, sign_in_at_vendor, staff_sign_in
from tests.live import ACME, CAREERHUB, FORUM, LiveDemo, wait_for_delivery


def test_signing_out_at_one_vendor_signs_the_member_out_at_the_other(
    page: Page, demo: LiveDemo
) -> None:
    careerhub = demo.vendor_urls[CAREERHUB]
    sign_in_at_vendor(page, demo, ACME, COURSE)
    page.goto(careerhub + "/")
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(careerhub + "/")  # single sign-on: no form
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")

    page.goto(demo.vendor_urls[ACME] + "/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("vendor-notice")).to_contain_text("You are signed out")
    wait_for_delivery(demo, CAREERHUB)

    page.goto(careerhub + "/")
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)
    expect(page.get_by_test_id("vendor-notice")).to_have_text(
        f"You signed out of {ASSOCIATION}, so you are signed out here too."
    )
    expect(page.get_by_role("link", name=f"Sign in with {ASSOCIATION}")).to_be_visible()


def test_the_portals_signed_out_page_names_the_sites_signed_out(page: Page, demo: LiveDemo) -> None:
    sign_in_at_vendor(page, demo, ACME, COURSE)
    page.goto(demo.portal_url + "/")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(demo.portal_url + "/signed-out")
    expect(page.get_by_test_id("sites-signed-out")).to_have_text(
        "You are being signed out of Acme Learning too."
    )
    wait_for_delivery(demo, ACME)
    page.goto(demo.vendor_urls[ACME] + COURSE)
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)


def test_staff_end_one_session_on_the_member_page_and_its_site_is_told(
    page: Page, staff_page: Page, demo: LiveDemo
) -> None:
    careerhub = demo.vendor_urls[CAREERHUB]
    sign_in_at_vendor(page, demo, CAREERHUB)
    staff_sign_in(staff_page, demo)
    nav(staff_page, "Members").click()
    staff_page.get_by_role("link", name=re.compile(r"^(View|Edit) ada$")).click()
    [session] = staff_page.get_by_test_id("member-session").all()
    expect(session.get_by_test_id("session-sites")).to_have_text("Sites: CareerHub Jobs")
    session.get_by_role("button", name="End this session of ada").click()  # hx-confirm, accepted
    expect(staff_page.get_by_text("Session ended. That browser is signed out.")).to_be_visible()
    expect(staff_page.get_by_test_id("member-session")).to_have_count(0)
    wait_for_delivery(demo, CAREERHUB)

    page.goto(careerhub + "/")
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)


def test_signing_out_at_acme_signs_the_member_out_of_the_openid_connect_forum_too(
    page: Page, staff_page: Page, demo: LiveDemo
) -> None:
    """Issue 26, items 1 and 2: "You are signed out of Acme Learning and of Example
    Association" holds at Community Forum too, and staff see the forum among the sites the
    member's session used."""
    forum = demo.vendor_urls[FORUM]
    sign_in_at_vendor(page, demo, ACME, COURSE)
    page.goto(forum + "/")
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")  # no password

    staff_sign_in(staff_page, demo)
    nav(staff_page, "Members").click()
    staff_page.get_by_role("link", name=re.compile(r"^(View|Edit) ada$")).click()
    [session] = staff_page.get_by_test_id("member-session").all()
    expect(session.get_by_test_id("session-sites")).to_contain_text("Community Forum")
    nav(staff_page, "Vendors").click()
    expect(staff_page.get_by_text("members who sign out elsewhere stay signed in")).to_have_count(0)

    page.goto(demo.vendor_urls[ACME] + "/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("vendor-notice")).to_contain_text("You are signed out")
    wait_for_delivery(demo, FORUM)
    page.goto(forum + "/")
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)
