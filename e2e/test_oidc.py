"""Issue 15 in Chromium: the demo's OpenID Connect vendor (Community Forum) beside the Enhanced
SSO ones, one portal session for both kinds; its sign-out, and a sign-out link from elsewhere,
which asks the member first; and the vendor as staff see it."""

from urllib.parse import urlencode

from playwright.sync_api import Page, expect

from e2e.steps import (
    ASSOCIATION,
    back_to_the_start,
    fill_portal_sign_in,
    open_vendor,
    portal_forms_shown,
    record_navigations,
    sign_in_at_vendor,
    staff_sign_in,
    starts_with,
)
from tests.live import ACME, FORUM, LiveDemo

THREAD = "/catalogue/first-board-meeting"


def test_signed_in_at_an_enhanced_vendor_the_member_needs_no_password_at_the_oidc_vendor(
    page: Page, demo: LiveDemo
) -> None:
    sign_in_at_vendor(page, demo, ACME)  # Enhanced SSO, with the password
    forum = demo.vendor_urls[FORUM]
    page.goto(forum + "/")
    expect(page.get_by_role("link", name="Community Forum")).to_be_visible()
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)  # its own session: none yet

    seen = record_navigations(page)
    page.get_by_role("link", name="Your first board meeting: what to bring?").click()
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(forum + THREAD)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    claims = page.get_by_test_id("received-claims")
    expect(claims.get_by_role("row", name="sub 101")).to_be_visible()
    expect(claims.get_by_role("row", name="email ada@example.org")).to_be_visible()
    assert any(url.startswith(f"{demo.portal_url}/oidc/authorize?") for url in seen)
    assert portal_forms_shown(seen, demo) == []  # the same portal session, no second password
    back_to_the_start(page, demo)


def test_the_oidc_vendors_sign_out_ends_the_portal_session_too(page: Page, demo: LiveDemo) -> None:
    forum = demo.vendor_urls[FORUM]
    page.goto(forum + THREAD)
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(starts_with(f"{demo.portal_url}/sign-in?"))
    expect(page.get_by_test_id("signin-vendor")).to_contain_text("Community Forum")
    fill_portal_sign_in(page, "ada")
    expect(page).to_have_url(forum + THREAD)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")

    seen = record_navigations(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(forum + "/")
    expect(page.get_by_test_id("vendor-notice")).to_have_text(
        f"You are signed out of Community Forum and of {ASSOCIATION}."
    )
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)
    assert any(url.startswith(f"{demo.portal_url}/oidc/logout?") for url in seen)

    page.goto(demo.vendor_urls[ACME] + "/")  # the portal session is over: the password again
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(starts_with(f"{demo.portal_url}/sign-in?"))


def test_a_sign_out_link_from_elsewhere_asks_the_member_first(page: Page, demo: LiveDemo) -> None:
    """RP-Initiated Logout §2: without an ID token of this session, the portal asks; Stay signed
    in and Sign out each go back to the site's registered address (CSP form-action allows the
    redirect after the form, in Chromium)."""
    forum = demo.vendor_urls[FORUM]
    sign_in_at_vendor(page, demo, ACME)
    query = urlencode({"client_id": FORUM, "post_logout_redirect_uri": forum + "/signed-out"})
    link = f"{demo.portal_url}/oidc/logout?{query}"
    page.goto(link)
    expect(page.get_by_role("heading", name="Sign out of all sites?")).to_be_visible()
    expect(page.get_by_text("Community Forum asks to sign you out")).to_be_visible()
    page.get_by_role("link", name="Stay signed in").click()
    expect(page).to_have_url(forum + "/")
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")  # no password

    page.goto(link)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(forum + "/")
    page.goto(demo.portal_url + "/")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # the portal session ended


def test_staff_see_the_oidc_vendor_with_its_discovery_url(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    open_vendor(page, demo, "Community Forum", "Settings")
    expect(page.get_by_role("radio", name="OpenID Connect")).to_be_checked()
    expect(page.get_by_label("Sign-in return addresses")).to_have_value(
        f"{demo.vendor_urls[FORUM]}/oidc/callback"
    )
    expect(
        page.get_by_role("checkbox", name="Keep members signed in to this site for longer")
    ).to_be_checked()

    page.get_by_label("Sign-in return addresses").fill("https://*.example.com/callback")
    page.get_by_role("button", name="Save sign-in method").click()
    expect(page.locator("#field-redirect_uris-error")).to_contain_text("wildcards are not allowed")
    page.get_by_label("Sign-in return addresses").fill(f"{demo.vendor_urls[FORUM]}/oidc/callback")
    page.get_by_role("button", name="Save sign-in method").click()
    expect(page.locator("#flashes")).to_contain_text("Nothing to change.")

    page.get_by_role("tab", name="Returned fields").click()
    expect(page.locator("#preview-claims")).to_contain_text('"given_name": "Ada"')
    page.get_by_role("tab", name="Integration").click()
    expect(page.locator("#url-discovery")).to_have_text(
        f"{demo.portal_url}/.well-known/openid-configuration"
    )
    expect(page.locator("#url-client-id")).to_have_text(FORUM)
    expect(page.locator("#oidc-sample-node")).to_contain_text(
        f'client.discovery(new URL("{demo.portal_url}"), "{FORUM}"'
    )


def test_staff_add_an_oidc_vendor_without_a_token_url(staff_page: Page, demo: LiveDemo) -> None:
    page = staff_page
    staff_sign_in(page, demo)
    page.goto(f"{demo.portal_url}/admin/vendors/new")
    page.get_by_label("Name").fill("Evently Community")
    page.get_by_label("Key").fill("evently")
    page.get_by_label("Domain").fill("evently.example.com")
    page.get_by_role("radio", name="OpenID Connect").check()
    page.get_by_label("Sign-in return addresses").fill("https://evently.example.com/*")
    page.get_by_role("button", name="Add vendor").click()
    expect(page.locator("#field-redirect_uris-error")).to_contain_text("wildcards are not allowed")
    expect(page.get_by_role("radio", name="OpenID Connect")).to_be_checked()  # kept as chosen
    page.get_by_label("Sign-in return addresses").fill("https://evently.example.com/oidc/cb")
    page.get_by_role("button", name="Add vendor").click()
    expect(page.get_by_role("heading", name="Evently Community", exact=True)).to_be_visible()
    expect(page.locator("#new-secret")).to_be_visible()  # the client secret, shown once
    page.get_by_role("tab", name="Integration").click()
    expect(page.locator("#url-client-id")).to_have_text("evently")
    expect(page.locator("#oidc-sample-dotnet")).to_contain_text('CallbackPath = "/oidc/cb"')
