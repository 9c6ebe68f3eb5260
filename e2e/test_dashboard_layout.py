"""Issue 13, points 4-6: the returned-fields editor, errors inside the dashboard, and the
dashboard on a 390 px phone, in Chromium under the portal's real CSP."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from e2e.steps import nav, open_vendor, staff_sign_in
from portal import catalogue
from tests.live import ACME, LiveDemo

PHONE = {"width": 390, "height": 844}
SECTIONS = ("Overview", "Vendors", "Members", "Sessions", "Audit log", "Staff")
MIN_LABEL_PX = 11


def order_in_preview(page: Page) -> list[str]:
    """The keys of the preview's JSON, in the order the vendor would receive them."""
    return re.findall(r'^\s*"(\w+)":', page.locator("#preview-json").inner_text(), re.M)


def test_reordering_fields_changes_the_form_and_only_save_keeps_it(
    staff_page: Page, demo: LiveDemo
) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    open_vendor(page, demo, "Acme Learning", "Returned fields")
    editor = page.locator("#fields-form")
    expect(editor.get_by_role("columnheader", name="Field")).to_be_visible()
    expect(editor.get_by_role("columnheader", name="Sent as")).to_be_visible()
    saved = order_in_preview(page)
    second = saved[1]

    page.get_by_role("button", name=f"Move {catalogue.label(second)} up").click()
    moved = [second, saved[0], *saved[2:]]
    expect(page.locator("#preview")).to_contain_text("Unsaved selection")
    expect(page.locator("#preview-json")).to_contain_text(f'"{second}"')
    assert order_in_preview(page) == moved
    expect(editor).to_contain_text("Save fields to keep")

    # Not saved yet: the vendor page, loaded afresh, still has the old order.
    other = page.context.new_page()
    other.goto(f"{demo.portal_url}/admin/vendors/{ACME}#tab-fields")
    assert order_in_preview(other) == saved
    other.close()

    save = page.get_by_role("button", name="Save fields")
    save.click()
    confirmation = editor.get_by_role("status")
    expect(confirmation).to_have_text("Returned fields saved.")
    expect(confirmation).to_be_in_viewport()
    expect(save).to_be_in_viewport()
    expect(page.locator("#preview")).to_contain_text("Saved selection")
    page.reload()
    page.get_by_role("tab", name="Returned fields").click()
    assert order_in_preview(page) == moved


def test_a_viewers_disabled_field_controls_look_disabled(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    staff_sign_in(page, demo, "viewer@example.org")
    open_vendor(page, demo, "Acme Learning", "Returned fields")
    for control in (
        page.get_by_label("Email", exact=True),
        page.get_by_label("Output name for Email"),
        page.get_by_role("button", name="Move Email down"),
    ):
        expect(control).to_be_disabled()
        expect(control).to_have_css("cursor", "not-allowed")
    expect(page.get_by_label("Email", exact=True)).to_have_css("opacity", re.compile(r"^0\.\d"))


def test_a_missing_page_in_the_dashboard_keeps_the_dashboard(
    staff_page: Page, demo: LiveDemo
) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    response = page.goto(f"{demo.portal_url}/admin/vendors/no-such-vendor")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("main")).to_contain_text("vendors")
    for section in SECTIONS:
        expect(nav(page, section)).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Back to the overview").click()
    expect(page).to_have_url(f"{demo.portal_url}/admin/")


def test_a_viewer_refused_a_page_is_told_what_they_can_do(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    staff_sign_in(page, demo, "viewer@example.org")
    response = page.goto(f"{demo.portal_url}/admin/staff")
    assert response is not None and response.status == 403
    main = page.get_by_role("main")
    expect(page.get_by_role("heading", level=1)).to_have_text("Only admins can open this page")
    expect(main).not_to_contain_text("look, not change")
    expect(main).to_contain_text("As a viewer you can see")
    for section in ("Overview", "Vendors", "Members", "Sessions", "Audit log"):
        expect(nav(page, section)).to_be_visible()
    expect(nav(page, "Staff")).to_have_count(0)


def test_outside_the_dashboard_the_member_error_page_stays(page: Page, demo: LiveDemo) -> None:
    response = page.goto(f"{demo.portal_url}/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("navigation", name="Dashboard")).to_have_count(0)
    expect(page.get_by_text("Error 404")).to_be_visible()


def dashboard_pages(page: Page, demo: LiveDemo) -> list[tuple[str, Callable[[], object]]]:
    """Every page of the dashboard, each as a way to open it."""
    base = demo.portal_url

    def go(path: str) -> Callable[[], object]:
        return lambda: page.goto(base + path)

    def member_page() -> None:
        page.goto(base + "/admin/members")
        page.get_by_role("link", name=re.compile(r"^(View|Edit) ada$")).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    def audit_event() -> None:
        page.goto(base + "/admin/audit")
        page.locator("#results tbody a").first.click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    return [
        ("overview", go("/admin/")),
        ("vendors", go("/admin/vendors")),
        ("vendor", go(f"/admin/vendors/{ACME}")),
        ("new vendor", go("/admin/vendors/new")),
        ("members", go("/admin/members")),
        ("member", member_page),
        ("new member", go("/admin/members/new")),
        ("import", go("/admin/members/import")),
        ("audit", go("/admin/audit")),
        ("audit event", audit_event),
        ("sessions", go("/admin/sessions")),
        ("staff", go("/admin/staff")),
        ("styleguide", go("/admin/styleguide")),
        ("404", go("/admin/no-such-page")),
    ]


def test_every_dashboard_page_fits_a_390_px_phone(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    page.set_viewport_size(PHONE)
    problems: list[str] = []  # a CSP violation or a script error shows in the console
    page.on("console", lambda m: m.type == "error" and problems.append(f"{page.url}: {m.text}"))
    staff_sign_in(page, demo)
    too_wide: list[str] = []
    for name, open_page in dashboard_pages(page, demo):
        open_page()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide.append(f"{name}: {width} px")
        for section in SECTIONS:  # every section in reach: on screen, no scrolling sideways
            link = nav(page, section)
            expect(link).to_be_in_viewport(ratio=1)
    assert too_wide == []
    # A sideways scroll belongs to its own box: the vendor page's tabs and tables, say.
    page.goto(f"{demo.portal_url}/admin/vendors/{ACME}")
    page.get_by_role("tab", name="Returned fields").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("button", name="Move Email down")).to_be_in_viewport(ratio=1)
    assert [p for p in problems if "404" not in p] == []  # the 404 page's own status aside


def test_chart_labels_are_at_least_11_px_on_a_phone(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    page.set_viewport_size(PHONE)
    staff_sign_in(page, demo)
    page.goto(f"{demo.portal_url}/admin/styleguide")
    sizes = page.locator(".chart__tick").evaluate_all(
        """ticks => ticks.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""
    )
    assert sizes, "the style guide shows charts"
    assert min(sizes) >= MIN_LABEL_PX, sizes
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
