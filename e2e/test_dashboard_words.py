"""Issue 13, points 1 and 3: the dashboard raises no false alarms and reads in staff's words.
A silent sign-in check that finds nobody signed in is the normal answer, not a vendor error;
events read in words with the vendor's name, sessions name the browser, a change is a
before → after table and a refused value is explained in a sentence."""

import re

from playwright.sync_api import Page, expect

from e2e.steps import ASSOCIATION, nav, open_vendor, sign_in_at_vendor, staff_sign_in
from tests.live import ACME, LiveDemo


def test_a_passive_check_finding_nobody_is_no_error_and_no_failure(
    page: Page, staff_page: Page, demo: LiveDemo
) -> None:
    page.goto(demo.vendor_urls[ACME] + "/")
    page.get_by_role("link", name=f"Signed in at {ASSOCIATION}?").click()
    expect(page.get_by_test_id("check-result")).to_have_text(
        f"You are not signed in at {ASSOCIATION}."
    )

    staff_sign_in(staff_page, demo)
    errors = staff_page.locator("section", has=staff_page.locator("#errors-heading"))
    expect(errors).to_be_visible()
    expect(errors).not_to_contain_text("sso.passive")
    expect(errors).not_to_contain_text("Silent sign-in check")
    expect(errors).not_to_contain_text("login_required")

    nav(staff_page, "Audit log").click()
    staff_page.get_by_label("Event", exact=True).select_option(
        label="Silent sign-in check by a vendor"
    )
    staff_page.get_by_role("button", name="Apply").click()
    row = staff_page.get_by_role("row", name=re.compile("Silent sign-in check by Acme Learning"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Member not signed in (the normal answer)")
    expect(row).to_contain_text("Expected")
    expect(row).not_to_contain_text("Failure")
    expect(row.locator("time")).to_have_text(re.compile(r"^\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d$"))
    expect(staff_page.locator(".pagination__status")).to_have_text("Showing 1 event, newest first")


def test_events_read_in_words_with_the_vendors_name_and_sessions_name_the_browser(
    page: Page, staff_page: Page, demo: LiveDemo
) -> None:
    sign_in_at_vendor(page, demo, ACME)

    staff_sign_in(staff_page, demo)
    nav(staff_page, "Audit log").click()
    staff_page.get_by_label("Vendor", exact=True).select_option(label="Acme Learning")
    staff_page.get_by_role("button", name="Apply").click()
    for words in ("Token redeemed by Acme Learning", "Sign-in token issued for Acme Learning"):
        expect(staff_page.get_by_role("cell", name=words, exact=True).first).to_be_visible()
    expect(staff_page.get_by_role("cell", name="acme", exact=True)).to_have_count(0)
    staff_page.get_by_role("row", name=re.compile("Token redeemed by Acme Learning")).get_by_role(
        "link", name=re.compile("Details")
    ).click()
    expect(
        staff_page.get_by_role("heading", name="Token redeemed by Acme Learning")
    ).to_be_visible()

    nav(staff_page, "Sessions").click()
    row = staff_page.get_by_role("row", name=re.compile("ada"))
    expect(row.locator(".table__secondary").last).to_have_text(re.compile(r"^Chrome \d+ on Linux$"))


def test_a_change_reads_before_then_after_and_a_refusal_in_a_sentence(
    staff_page: Page, demo: LiveDemo
) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    open_vendor(page, demo, "Acme Learning", "Settings")
    token_url = page.get_by_label("Token URL", exact=True)
    registered = token_url.input_value()
    token_url.fill(registered + "#top")
    page.get_by_role("button", name="Save changes").click()
    refusal = page.locator("#field-token_url-error")
    expect(refusal).to_contain_text("The token URL must not contain a fragment (#).")
    expect(refusal).not_to_contain_text("token URL: token URL")

    token_url.fill(registered)
    page.get_by_label("Name", exact=True).fill("Acme Academy")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#flashes")).to_contain_text("Settings saved.")

    nav(page, "Audit log").click()
    page.get_by_role("row", name=re.compile("Settings of Acme Academy changed")).get_by_role(
        "link", name=re.compile("Details")
    ).click()
    changes = page.locator("#event-changes")
    expect(changes.get_by_role("columnheader")).to_have_text(["Field", "Before", "→ After"])
    expect(changes.get_by_role("row", name="Name")).to_have_text(
        re.compile(r"^\s*Name\s*Acme Learning\s*Acme Academy\s*$")
    )
    expect(page.locator("#event-details")).not_to_be_visible()  # the JSON only on request
