"""Errors inside /admin keep the dashboard (its navigation, a way back) and speak staff terms;
outside /admin the member-facing error page stays."""

from tests.admin.browser import Browser, text

NAV = 'aria-label="Dashboard"'


async def test_a_missing_vendor_keeps_the_dashboard_and_points_to_the_list(admin: Browser) -> None:
    response = await admin.get("/admin/vendors/no-such-vendor")
    assert response.status_code == 404
    body = await text(response)
    assert NAV in body
    assert "There is no vendor at this address." in body
    assert 'href="/admin/vendors">Go to the vendors list' in body
    assert "Back to the overview" in body
    assert "no vendor with key" not in body  # the developer's wording stays in the code


async def test_an_unknown_dashboard_address_is_a_dashboard_404(admin: Browser) -> None:
    response = await admin.get("/admin/no-such-page")
    assert response.status_code == 404
    body = await text(response)
    assert NAV in body
    assert "There is no dashboard page at this address." in body


async def test_a_viewer_who_only_looked_is_told_what_they_can_see(viewer: Browser) -> None:
    response = await viewer.get("/admin/staff")
    assert response.status_code == 403
    body = await text(response)
    assert NAV in body
    assert "Only admins can open this page" in body
    assert "As a viewer you can see the overview, vendors, members, sessions and the audit" in body
    assert "look, not change" not in body and "Nothing was changed" not in body
    assert "Go to the staff list" not in body  # a link they could not follow


async def test_signed_out_a_dashboard_404_offers_the_sign_in_not_a_menu(anonymous: Browser) -> None:
    response = await anonymous.get("/admin/no-such-page")
    assert response.status_code == 404
    body = await text(response)
    assert NAV not in body
    assert 'href="/admin/sign-in"' in body


async def test_outside_the_dashboard_the_member_error_page_stays(anonymous: Browser) -> None:
    response = await anonymous.get("/no-such-page")
    assert response.status_code == 404
    body = await text(response)
    assert NAV not in body
    assert "Error 404" in body and "Page not found" in body


async def test_no_page_speaks_the_frameworks_stock_words(
    anonymous: Browser, admin: Browser
) -> None:
    for browser, path in [(anonymous, "/no-such-page"), (admin, "/admin/no-such-page")]:
        body = await text(await browser.get(path))
        assert "There is no" in body and "page at this address" in body
        assert "requested URL" not in body and "manually" not in body, path
