"""Regenerate the README's screenshots from what a first `portal demo` shows (its month of
demo activity included: nothing is added for the pictures).

    PORTAL_DATA_DIR=/tmp/shots uv run portal demo --port 8040 &   # demo data, portal, vendors
    uv run python docs/screenshots/capture.py http://127.0.0.1:8040

Signs in as the demo admin in Chromium and saves dashboard-overview.png, dashboard-vendor.png,
dashboard-oidc-vendor.png, dashboard-members.png and dashboard-phone.png (the overview at 390 px)
next to this file; then signs in as ada at the demo vendor (http://localhost:8001) and saves
demo-vendor-home.png, portal-sign-in.png, demo-vendor-signed-in.png and portal-my-sites.png."""

import asyncio
import sys
from pathlib import Path

from playwright.async_api import Page, async_playwright

from portal.demo.data import DEMO_PASSWORD

HERE = Path(__file__).resolve().parent


async def capture(base: str) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{base}/admin/sign-in")
        await page.get_by_label("Email").fill("admin@example.org")
        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/admin/")
        await page.screenshot(path=HERE / "dashboard-overview.png", full_page=True)
        await page.goto(f"{base}/admin/vendors/acme-learning#tab-fields")
        await page.get_by_role("tab", name="Returned fields").click()
        await page.set_viewport_size({"width": 1280, "height": 1000})
        await page.wait_for_timeout(300)
        await page.screenshot(path=HERE / "dashboard-vendor.png")
        await capture_oidc_vendor(page, base)
        await page.goto(f"{base}/admin/members")
        await page.screenshot(path=HERE / "dashboard-members.png")
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(f"{base}/admin/")
        await page.screenshot(path=HERE / "dashboard-phone.png")
        member = await browser.new_page(viewport={"width": 1100, "height": 760})
        await capture_demo(member)
        await member.goto(f"{base}/")
        await member.screenshot(path=HERE / "portal-my-sites.png")
        await browser.close()


async def capture_oidc_vendor(page: Page, base: str) -> None:
    """The demo's OpenID Connect vendor: how members sign in, as staff set it."""
    await page.goto(f"{base}/admin/vendors/community-forum")
    await page.screenshot(path=HERE / "dashboard-oidc-vendor.png", full_page=True)


async def capture_demo(page: Page, vendor: str = "http://localhost:8001") -> None:
    """A member's first sign-in through the demo vendor, in a browser of its own."""
    await page.goto(f"{vendor}/")
    await page.screenshot(path=HERE / "demo-vendor-home.png")
    await page.get_by_role("link", name="Board governance essentials").click()
    await page.get_by_role("link", name="Sign in with Example Association").click()
    await page.get_by_label("Username or email").fill("ada")
    await page.screenshot(path=HERE / "portal-sign-in.png")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(f"{vendor}/catalogue/board-governance")
    await page.set_viewport_size({"width": 1100, "height": 900})
    await page.screenshot(path=HERE / "demo-vendor-signed-in.png")


def main() -> None:
    asyncio.run(capture(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8040"))


if __name__ == "__main__":
    main()
