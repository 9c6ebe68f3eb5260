"""What a member does in the browser, as steps the flows share."""

import re

from playwright.sync_api import Error, Locator, Page, expect

from portal.demo.data import DEMO_PASSWORD
from tests.live import ACME, LiveDemo

ASSOCIATION = "Example Association"
COURSE = "/catalogue/board-governance"


def starts_with(url: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(url))


def fill_portal_sign_in(page: Page, username: str = "ada", password: str = DEMO_PASSWORD) -> None:
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_in_at_vendor(page: Page, demo: LiveDemo, vendor: str = ACME, path: str = "/") -> None:
    """From a vendor page, through the portal's sign-in form, back to that page signed in."""
    page.goto(demo.vendor_urls[vendor] + path)
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(starts_with(f"{demo.portal_url}/sign-in?"))
    fill_portal_sign_in(page)
    expect(page).to_have_url(demo.vendor_urls[vendor] + path)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")


def record_navigations(page: Page) -> list[str]:
    """Every URL the page navigates to from now on, each redirect included."""
    seen: list[str] = []
    page.on("request", lambda request: request.is_navigation_request() and seen.append(request.url))
    return seen


def portal_forms_shown(seen: list[str], demo: LiveDemo) -> list[str]:
    return [url for url in seen if url.startswith(f"{demo.portal_url}/sign-in")]


def staff_sign_in(page: Page, demo: LiveDemo, email: str = "admin@example.org") -> None:
    page.goto(f"{demo.portal_url}/admin/")
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{demo.portal_url}/admin/")


def nav(page: Page, name: str) -> Locator:
    """A link of the dashboard's main navigation."""
    return page.get_by_role("navigation", name="Dashboard").get_by_role("link", name=name)


def open_vendor(page: Page, demo: LiveDemo, name: str, tab: str) -> None:
    nav(page, "Vendors").click()
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("tab", name=tab).click()


def back_to_the_start(page: Page, demo: LiveDemo, limit: int = 20) -> list[str]:
    """Press Back until the start of the history; returns where each press landed. Every stop
    must be a page of the portal or a demo vendor that loaded without a server error: never a
    redirect loop (ERR_TOO_MANY_REDIRECTS) or another browser error page. The one exception is
    the browser's "Confirm Form Resubmission" (ERR_CACHE_MISS) for an answer to a POST, which
    by design is never kept."""
    origins = (demo.portal_url, *demo.vendor_urls.values())
    stops: list[str] = []
    for _ in range(limit):
        if page.url == "about:blank":
            return stops
        mark_before_back(page)
        try:
            response = page.go_back(wait_until="load")
        except Error as exc:
            if "net::ERR_CACHE_MISS" not in exc.message:
                raise AssertionError(f"Back after {stops}: {exc.message}") from None
            stops.append(f"resubmit? {page.url}")
            continue
        if response is None and page.url != "about:blank":
            # A URL htmx pushed: with no history cache, htmx reloads it. Wait for the new page.
            page.wait_for_function("() => window.beforeBack === undefined")
            page.wait_for_load_state("load")
        stops.append(f"{response.status if response else '-'} {page.url}")
        assert page.url == "about:blank" or page.url.startswith(origins), stops
        assert response is None or response.status < 500, stops
    raise AssertionError(f"Back never reached the start of the history: {stops}")


def mark_before_back(page: Page) -> None:
    """Set window.beforeBack on the page in hand. After a Back the browser refused (a POST's
    answer), its own error page may still be loading: wait for it, and mark that one."""
    for _ in range(5):
        try:
            page.evaluate("window.beforeBack = true")
            return
        except Error as exc:
            if "Execution context was destroyed" not in exc.message:
                raise
            page.wait_for_load_state("load")
    raise AssertionError(f"{page.url} never settled after Back")
