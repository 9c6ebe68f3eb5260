"""A walk over every page (issue 13, point 9): the member pages, every dashboard page and the
demo vendor sites, in Chromium, with no Content-Security-Policy violation and no script error
in the browser's console, so none creeps in. The pages run their scripts on the way (htmx, the
vendor tabs, the show-password toggle, the token-post page's auto-post)."""

import asyncio
from contextlib import suppress

from playwright.sync_api import ConsoleMessage, Error, Page, Request, expect
from sqlmodel import col, func, select

from e2e.steps import COURSE, fill_portal_sign_in, nav, staff_sign_in
from e2e.test_first_run import seed_like_portal_demo
from portal import members
from portal.audit_models import AuditEvent
from tests.flows import off_the_loop, unit_of_work
from tests.live import ACME, CAREERHUB, LiveDemo


class Console:
    """What the browser's console said, page by page: errors (a CSP violation is one) and
    uncaught script errors."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        self.documents: set[str] = set()
        page.on("console", self.message)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))
        page.on("request", self.note_document)

    def note_document(self, request: Request) -> None:
        if request.is_navigation_request():
            self.documents.add(request.url)

    def message(self, message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        # A page's own status (the sign-in form answers a wrong password with 401) is an
        # answer, not a fault; a stylesheet, script or image that fails to load is one.
        if message.text.startswith("Failed to load resource") and url in self.documents:
            return
        if message.type == "error":
            self.problems.append(f"{url}: {message.text}")


def ids_to_visit(demo: LiveDemo) -> tuple[int, int]:
    async def find() -> tuple[int, int]:
        async with unit_of_work(demo.database_url) as session:
            ada = await members.select_member_by_login(session, "ada")
            newest = (await session.exec(select(func.max(col(AuditEvent.id))))).one()
        assert ada is not None and ada.id is not None and newest is not None
        return ada.id, newest

    return off_the_loop(lambda: asyncio.run(find()))


def visit(page: Page, url: str) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status < 400, url
    page.wait_for_load_state("networkidle")


def test_no_page_has_a_console_error(page: Page, staff_page: Page, demo: LiveDemo) -> None:
    seed_like_portal_demo(demo)
    member_console, staff_console = Console(page), Console(staff_page)
    portal = demo.portal_url

    # The member: the portal's own pages, a wrong password, the toggle, their account page, My
    # sites, the vendors.
    for path in ("/", "/sign-in", "/help", "/signed-out"):
        visit(page, portal + path)
    page.goto(f"{portal}/sign-in")
    fill_portal_sign_in(page, password="not the password")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Show password").click()
    fill_portal_sign_in(page)
    expect(page).to_have_url(f"{portal}/")
    visit(page, f"{portal}/account")
    page.goto(f"{portal}/")
    page.get_by_role("region", name="My sites").get_by_role("link", name="Acme Learning").click()
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    for key, path in ((ACME, COURSE), (ACME, "/check"), (CAREERHUB, "/"), (CAREERHUB, "/check")):
        visit(page, demo.vendor_urls[key] + path)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)

    # The staff member: every dashboard page, with its scripts at work.
    visit(staff_page, f"{portal}/admin/sign-in")
    staff_sign_in(staff_page, demo)
    member_id, event_id = ids_to_visit(demo)
    for path in (
        "/admin/", "/admin/vendors", "/admin/vendors/new", f"/admin/vendors/{ACME}/preview",
        "/admin/members", "/admin/members/new", f"/admin/members/{member_id}",
        "/admin/members/import", "/admin/audit", f"/admin/audit/{event_id}", "/admin/sessions",
        "/admin/staff", "/admin/styleguide",
    ):  # fmt: skip
        visit(staff_page, portal + path)
    nav(staff_page, "Vendors").click()
    staff_page.get_by_role("link", name="Acme Learning", exact=True).click()
    for tab in ("Settings", "Returned fields", "Secrets", "Integration"):
        staff_page.get_by_role("tab", name=tab).click()
    nav(staff_page, "Members").click()
    staff_page.get_by_role("searchbox", name="Search").fill("lovelace")
    expect(staff_page.get_by_role("link", name="Edit ada")).to_be_visible()

    problems = member_console.problems + staff_console.problems
    assert problems == [], "\n".join(problems)


def test_the_walk_would_see_a_csp_violation(page: Page, demo: LiveDemo) -> None:
    """The console watch works: an inline script, which the policy forbids, is reported."""
    console = Console(page)
    visit(page, f"{demo.portal_url}/sign-in")
    with suppress(Error):  # refused by the policy, as it should be: the console tells
        page.add_script_tag(content="window.inlineRan = true")
    page.wait_for_timeout(200)
    assert any("Content Security Policy" in problem for problem in console.problems), console
