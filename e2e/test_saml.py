"""Issue 24 in Chromium: the demo's SAML vendor (EventHub Conferences, python3-saml) beside the
Enhanced and OpenID Connect ones, one portal session for all; its sign-out (SP-initiated single
logout) ends every site's session, and a sign-out elsewhere reaches it by SOAP."""

from playwright.sync_api import Page, expect

from e2e.steps import ASSOCIATION, COURSE, portal_forms_shown, record_navigations, sign_in_at_vendor
from tests.live import ACME, EVENTHUB, FORUM, LiveDemo, wait_for_delivery

EMAIL_OID = "urn:oid:0.9.2342.19200300.100.1.3"


def sign_in_without_password(page: Page, demo: LiveDemo, vendor: str, path: str = "/") -> None:
    """Signed in at the portal already: the vendor's sign-in link brings the member back."""
    seen = record_navigations(page)
    page.goto(demo.vendor_urls[vendor] + path)
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(demo.vendor_urls[vendor] + path)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    assert portal_forms_shown(seen, demo) == []


def test_signed_in_at_an_enhanced_vendor_the_member_needs_no_password_at_the_saml_vendor(
    page: Page, demo: LiveDemo
) -> None:
    sign_in_at_vendor(page, demo, ACME, COURSE)  # Enhanced SSO, with the password
    eventhub = demo.vendor_urls[EVENTHUB]
    page.goto(eventhub + "/")
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)  # its own session: none yet

    seen = record_navigations(page)
    page.get_by_role("link", name="Annual Meeting 2027").click()
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(eventhub + "/catalogue/annual-meeting")
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    assert any(url.startswith(f"{demo.portal_url}/saml/sso?SAMLRequest=") for url in seen)
    assert portal_forms_shown(seen, demo) == []  # the same portal session, no second password

    page.goto(eventhub + "/")
    attributes = page.get_by_test_id("received-attributes")
    expect(attributes.get_by_role("row", name=f"{EMAIL_OID} ada@example.org")).to_be_visible()
    expect(attributes.get_by_role("row", name="ImisId 101")).to_be_visible()


def test_signing_out_at_the_saml_vendor_signs_the_member_out_everywhere(
    page: Page, demo: LiveDemo
) -> None:
    sign_in_at_vendor(page, demo, ACME)
    sign_in_without_password(page, demo, FORUM)
    sign_in_without_password(page, demo, EVENTHUB)

    seen = record_navigations(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(demo.vendor_urls[EVENTHUB] + "/")
    expect(page.get_by_test_id("vendor-notice")).to_have_text(
        f"You are signed out of EventHub Conferences and of {ASSOCIATION}."
    )
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)
    assert any(url.startswith(f"{demo.portal_url}/saml/slo?SAMLRequest=") for url in seen)
    # The portal's signed LogoutResponse, which python3-saml checked, brought the member back.
    assert any("/saml/slo?SAMLResponse=" in url for url in seen)

    wait_for_delivery(demo, ACME)
    wait_for_delivery(demo, FORUM)
    for vendor in (ACME, FORUM):
        page.goto(demo.vendor_urls[vendor] + "/")
        expect(page.get_by_test_id("vendor-member")).to_have_count(0)
        expect(page.get_by_test_id("vendor-notice")).to_have_text(
            f"You signed out of {ASSOCIATION}, so you are signed out here too."
        )
    page.goto(demo.portal_url + "/")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # the portal session ended


def test_signing_out_at_an_enhanced_vendor_signs_the_member_out_of_the_saml_vendor(
    page: Page, demo: LiveDemo
) -> None:
    sign_in_at_vendor(page, demo, ACME)
    sign_in_without_password(page, demo, EVENTHUB)

    page.goto(demo.vendor_urls[ACME] + "/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("vendor-notice")).to_contain_text("You are signed out")
    wait_for_delivery(demo, EVENTHUB)  # the SOAP LogoutRequest, answered Success

    page.goto(demo.vendor_urls[EVENTHUB] + "/")
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)
    expect(page.get_by_test_id("vendor-notice")).to_have_text(
        f"You signed out of {ASSOCIATION}, so you are signed out here too."
    )
    expect(page.get_by_role("link", name=f"Sign in with {ASSOCIATION}")).to_be_visible()
