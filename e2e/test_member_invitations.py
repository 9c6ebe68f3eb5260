"""Issue 26 item 4, in Chromium: staff invite members with care — how many first, narrowed by
member type, confirmed with the number, then the batch's progress."""

import re

from playwright.sync_api import Page, expect

from e2e.steps import nav, staff_sign_in
from tests.live import LiveDemo


def add_member_without_password(page: Page, imis_id: str, username: str, member_type: str) -> None:
    nav(page, "Members").click()
    page.get_by_role("link", name="Add member").click()
    page.get_by_label("iMIS ID").fill(imis_id)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Member type").fill(member_type)
    page.get_by_role("button", name="Add member").click()


def test_staff_narrow_confirm_and_follow_an_invitation_batch(
    staff_page: Page, demo: LiveDemo
) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    add_member_without_password(page, "951", "invitee-one", "NEWBIE")
    add_member_without_password(page, "952", "invitee-two", "OTHER")

    nav(page, "Members").click()
    page.get_by_role("link", name="Invite members").click()
    expect(page.get_by_role("heading", name=re.compile(r"will be invited"))).to_be_visible()
    page.get_by_label("Member type").select_option("NEWBIE")
    page.get_by_role("button", name="Count").click()
    expect(page.get_by_role("heading", name="1 member will be invited")).to_be_visible()

    page.get_by_role("button", name="Invite 1 member").click()
    expect(page).to_have_url(re.compile(r"/admin/members/invitations/progress\?at="))
    expect(page.get_by_text("1 invitation written to the outbox.")).to_be_visible()
    expect(page.get_by_role("heading", name="1 invitation")).to_be_visible()
    expect(page.locator("#progress")).to_contain_text(re.compile(r"\d sent, \d failed, \d waiting"))

    page.goto(f"{demo.portal_url}/admin/members/invitations?member_type=NEWBIE")
    expect(page.get_by_text("Nobody to invite")).to_be_visible()
    page.get_by_label("Member type").select_option("OTHER")
    page.get_by_role("button", name="Count").click()
    expect(page.get_by_role("button", name="Invite 1 member")).to_be_visible()
