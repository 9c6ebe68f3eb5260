"""Who may use a site, in a real browser: the preview follows the choices as staff make them
(htmx, under the portal's CSP), answers for a member under the rule not saved yet, and Save
keeps it — the vendor list then says who the site is open to."""

from playwright.sync_api import Page, expect

from e2e.steps import nav, open_vendor, staff_sign_in
from tests.live import LiveDemo


def test_staff_preview_a_rule_check_a_member_and_save_it(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    open_vendor(page, demo, "Acme Learning", "Who may use it")
    count = page.get_by_test_id("access-count")
    expect(count).to_contain_text("3 of 3 members")  # ada, grace and alan (status I)
    page.get_by_label("Members in good standing only").check()
    expect(count).to_contain_text("2 of 3 members")
    expect(page.locator("#access-preview")).to_contain_text("Rule not saved yet")
    page.get_by_label("Would this member get in?").fill("alan")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_test_id("access-decision")).to_contain_text(
        "Refused: not in good standing (status not active)"
    )
    page.get_by_label("Student (STU)").check()
    expect(count).to_contain_text("1 of 3 members")
    page.get_by_role("button", name="Save", exact=True).click()
    status = page.locator("#access-form").get_by_role("status")
    expect(status).to_have_text("Who may use the site saved.")
    wanted = "Members in good standing whose member type is STU"
    expect(page.get_by_test_id("access-saved")).to_contain_text(wanted)
    expect(page.locator("#access-preview")).to_contain_text(f"Saved rule: {wanted}")
    nav(page, "Vendors").click()
    expect(page.get_by_test_id("access-rule")).to_have_text(f"Open to: {wanted}")
