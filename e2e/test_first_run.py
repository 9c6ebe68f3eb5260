"""A first run that looks alive (issue 13, points 8 and 10): the overview after `portal demo`'s
seeding shows a month of activity; a signed-in member's home lists the association's sites and
a link signs them in to one, and a site staff mark "coming soon" is a greyed tile, not a link;
the member sign-in page ties its error to the password, shows the
password on request and links to help."""

import asyncio
import re

from playwright.sync_api import Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from e2e.steps import (
    ASSOCIATION,
    fill_portal_sign_in,
    open_vendor,
    staff_sign_in,
)
from portal import vendors
from portal.demo import activity, run
from tests.flows import off_the_loop, unit_of_work
from tests.live import CAREERHUB, EVENTHUB, FORUM, LiveDemo

WRONG = "The username or password is not right."


def seed_like_portal_demo(demo: LiveDemo) -> None:
    async def seed() -> None:
        async with unit_of_work(demo.database_url) as session:
            await run.prepare(session, demo.vendor_urls)

    off_the_loop(lambda: asyncio.run(seed()))


def days_with_bars(page: Page, chart_id: str) -> set[str]:
    titles = page.locator(f"#{chart_id} rect.chart__bar title").all_text_contents()
    return {title.split(" · ")[0] for title in titles}


def test_the_overview_shows_thirty_days_of_demo_activity(staff_page: Page, demo: LiveDemo) -> None:
    seed_like_portal_demo(demo)
    page = staff_page
    staff_sign_in(page, demo)
    chart = page.locator("#chart-signins")
    expect(chart.locator(".chart__legend")).to_contain_text("Acme Learning")
    expect(chart.locator(".chart__legend")).to_contain_text("CareerHub Jobs")
    assert len(days_with_bars(page, "chart-signins")) >= activity.DAYS - 1  # today may be young
    expect(page.locator("#chart-redeem .chart__line")).to_have_count(2)


def test_my_sites_lists_the_vendors_and_a_link_signs_in_to_one(page: Page, demo: LiveDemo) -> None:
    page.goto(f"{demo.portal_url}/sign-in")
    fill_portal_sign_in(page)
    expect(page).to_have_url(f"{demo.portal_url}/")
    sites = page.get_by_role("region", name="My sites")
    expect(sites.get_by_role("link")).to_have_count(4)
    for name in ("Acme Learning", "CareerHub Jobs", "Community Forum", "EventHub Conferences"):
        expect(sites.get_by_role("link", name=name, exact=True)).to_be_visible()
    sites.get_by_role("link", name="CareerHub Jobs").click()
    expect(page).to_have_url(f"{demo.vendor_urls[CAREERHUB]}/")  # no password asked again
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    page.goto(f"{demo.portal_url}/")  # the OpenID Connect site, from its sign-in start page
    sites.get_by_role("link", name="Community Forum").click()
    expect(page).to_have_url(f"{demo.vendor_urls[FORUM]}/")
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    page.goto(f"{demo.portal_url}/")  # the SAML site, from its sign-in start page
    sites.get_by_role("link", name="EventHub Conferences").click()
    expect(page).to_have_url(f"{demo.vendor_urls[EVENTHUB]}/")
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")


def test_my_sites_leaves_out_a_disabled_vendor(page: Page, demo: LiveDemo) -> None:
    async def disable() -> None:
        async with unit_of_work(demo.database_url) as session:
            await disable_careerhub(session)

    off_the_loop(lambda: asyncio.run(disable()))
    page.goto(f"{demo.portal_url}/sign-in")
    fill_portal_sign_in(page)
    sites = page.get_by_role("region", name="My sites")
    expect(sites.get_by_role("link")).to_have_count(3)
    expect(sites.get_by_role("link", name="Acme Learning", exact=True)).to_be_visible()
    expect(sites.get_by_role("link", name="CareerHub Jobs")).to_have_count(0)


def test_a_site_staff_mark_coming_soon_is_a_greyed_tile_yet_its_own_sign_in_works(
    page: Page, staff_page: Page, demo: LiveDemo
) -> None:
    staff_sign_in(staff_page, demo)
    open_vendor(staff_page, demo, "CareerHub Jobs", "Settings")
    staff_page.get_by_label(re.compile("^On members.*My sites")).select_option("coming-soon")
    staff_page.get_by_role("button", name="Save changes").click()
    expect(staff_page.locator("#flashes")).to_contain_text("Settings saved.")
    staff_page.goto(f"{demo.portal_url}/admin/vendors")
    row = staff_page.get_by_role("row", name=re.compile("CareerHub Jobs"))
    expect(row).to_contain_text("Coming soon on My sites")

    page.goto(f"{demo.portal_url}/sign-in")
    fill_portal_sign_in(page)
    sites = page.get_by_role("region", name="My sites")
    expect(sites.get_by_role("link")).to_have_count(3)
    expect(sites.get_by_role("link", name=re.compile("CareerHub"))).to_have_count(0)
    tile = sites.get_by_test_id("coming-soon")
    expect(tile).to_have_text(re.compile(r"CareerHub Jobs\W*Coming soon"))
    expect(tile.locator("a, button, form")).to_have_count(0)
    tile.click()  # goes nowhere
    expect(page).to_have_url(f"{demo.portal_url}/")
    # The list only: CareerHub's own site still signs the member in (no password asked again).
    page.goto(f"{demo.vendor_urls[CAREERHUB]}/")
    page.get_by_role("link", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{demo.vendor_urls[CAREERHUB]}/")
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")


async def disable_careerhub(session: AsyncSession) -> None:
    vendor = await vendors.get_vendor(session, CAREERHUB)
    vendor.enabled = False
    session.add(vendor)


def test_the_sign_in_page_ties_its_error_to_the_password(page: Page, demo: LiveDemo) -> None:
    page.goto(f"{demo.portal_url}/sign-in")
    password = page.get_by_label("Password", exact=True)
    expect(password).not_to_have_attribute("aria-invalid", "true")
    fill_portal_sign_in(page, password="not the password")
    expect(password).to_have_attribute("aria-invalid", "true")
    described_by = password.get_attribute("aria-describedby") or ""
    error = page.locator(f"#{described_by}")
    expect(error).to_have_text(WRONG)
    expect(password).to_have_accessible_description(WRONG)


def test_the_show_password_toggle_works_with_the_keyboard(page: Page, demo: LiveDemo) -> None:
    page.goto(f"{demo.portal_url}/sign-in")
    password = page.get_by_label("Password", exact=True)
    password.fill("correct horse")
    toggle = page.get_by_role("button", name="Show password")
    password.focus()
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Space")
    expect(password).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Hide password")).to_be_focused()
    page.keyboard.press("Enter")
    expect(password).to_have_attribute("type", "password")
    expect(toggle).to_be_focused()
    expect(password).to_have_value("correct horse")


def test_the_help_line_is_a_focusable_link_to_the_help_page(page: Page, demo: LiveDemo) -> None:
    page.goto(f"{demo.portal_url}/sign-in")
    help_link = page.get_by_role("link", name="Trouble signing in?")
    help_link.focus()
    expect(help_link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{demo.portal_url}/help")
    expect(page.get_by_role("heading", name="Trouble signing in?")).to_be_visible()
    expect(page.get_by_text(f"contact {ASSOCIATION}")).to_be_visible()
