"""The dashboard in Chromium against a live Hypercorn: htmx swaps under the real CSP, the CSRF
header, hx-confirm dialogs, the live preview."""

import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.admin.browser import STAFF_PASSWORD, add_staff
from tests.flows import add_member, add_vendor, live_portal

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)


@pytest.fixture
def portal(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path) as base:
        yield base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("no Chromium on this machine")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def signed_in(browser: Browser, base: str, email: str) -> Page:
    page = await browser.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{base}/admin/vendors")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/admin/vendors")
    return page


async def test_an_admin_manages_a_vendor_in_the_browser(
    browser: Browser, portal: str, database_url: str
) -> None:
    await add_vendor(database_url)
    await add_member(database_url, company="Analytical Engines")
    await add_staff(database_url, "admin@example.org", "admin")
    page = await signed_in(browser, portal, "admin@example.org")
    await page.get_by_role("link", name="Acme Learning").first.click()

    await page.get_by_label("Add a domain").fill("co.uk")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.locator("#field-domain-error")).to_contain_text("public suffix")
    await page.get_by_label("Add a domain").fill("acme.academy")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.locator("#flashes")).to_contain_text("acme.academy added.")

    await page.get_by_role("tab", name="Returned fields").click()
    await page.get_by_label("Company", exact=True).check()
    await page.get_by_label("Output name for Company").fill("org")
    await expect(page.locator("#preview-json")).to_contain_text('"org": "Analytical Engines"')
    await expect(page.locator("#preview")).to_contain_text("Unsaved selection")
    await page.get_by_role("button", name="Save fields").click()
    await expect(page.locator("#flashes")).to_contain_text("Returned fields saved.")
    await expect(page.locator("#preview")).to_contain_text("Saved selection")

    await page.get_by_role("tab", name="Secrets").click()
    await page.get_by_role("button", name="Generate a new secret").click()
    await expect(page.locator("#new-secret")).to_have_text(re.compile(r"^[A-Za-z0-9_-]{43}$"))

    await page.get_by_role("tab", name="Settings").click()
    await page.get_by_role("button", name="Disable vendor").click()  # hx-confirm, accepted
    await expect(page.locator("#vendor-status")).to_contain_text("Disabled")

    await page.goto(f"{portal}/admin/audit?vendor=acme")
    await expect(page.locator("#results")).to_contain_text("vendor.fields_changed")


async def test_a_viewer_sees_everything_and_can_change_nothing(
    browser: Browser, portal: str, database_url: str
) -> None:
    await add_vendor(database_url)
    await add_staff(database_url, "viewer@example.org", "viewer")
    page = await signed_in(browser, portal, "viewer@example.org")
    await expect(page.get_by_role("link", name="Add vendor")).to_have_count(0)
    await page.get_by_role("link", name="Acme Learning").first.click()
    await expect(page.get_by_label("Name", exact=True)).to_be_disabled()
    await expect(page.get_by_role("button", name="Disable vendor")).to_have_count(0)
    await expect(page.get_by_role("link", name="Staff")).to_have_count(0)
