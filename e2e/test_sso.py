"""Flows 1-7 of issue 5: a member between the demo vendor sites and the portal, in Chromium."""

from urllib.parse import urlencode

from playwright.sync_api import Page, expect

from e2e.steps import (
    ASSOCIATION,
    COURSE,
    back_to_the_start,
    fill_portal_sign_in,
    portal_forms_shown,
    record_navigations,
    sign_in_at_vendor,
    starts_with,
)
from portal.demo.data import DEMO_PASSWORD
from tests.live import ACME, CAREERHUB, LiveDemo


def test_flow_1_sign_in_from_the_vendor_returns_to_the_deep_link(
    page: Page, demo: LiveDemo
) -> None:
    acme = demo.vendor_urls[ACME]
    page.goto(acme + "/")
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    page.get_by_role("link", name="Board governance essentials").click()
    expect(page.get_by_role("heading", name=f"For {ASSOCIATION} members")).to_be_visible()
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()

    expect(page).to_have_url(starts_with(f"{demo.portal_url}/sign-in?"))
    expect(page.get_by_test_id("signin-vendor")).to_contain_text("Acme Learning")
    fill_portal_sign_in(page, "ada")

    expect(page).to_have_url(acme + COURSE)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    expect(page.get_by_test_id("item-welcome")).to_contain_text("You're in, Ada Lovelace")
    fields = page.get_by_test_id("received-fields")
    expect(fields.get_by_role("row", name="ImisId 101")).to_be_visible()
    expect(fields.get_by_role("row", name="Email ada@example.org")).to_be_visible()
    back_to_the_start(page, demo)


def test_flow_2_a_vendor_that_lost_its_session_gets_the_member_back_silently(
    page: Page, demo: LiveDemo
) -> None:
    sign_in_at_vendor(page, demo, ACME, COURSE)
    page.get_by_role("button", name="Forget my Acme Learning session").click()
    expect(page.get_by_test_id("vendor-notice")).to_contain_text("forgot your session")
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)

    seen = record_navigations(page)
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(demo.vendor_urls[ACME] + "/")
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    assert any(url.startswith(f"{demo.portal_url}/sso/signin?") for url in seen)  # via the portal
    assert portal_forms_shown(seen, demo) == []  # and no sign-in form on the way
    back_to_the_start(page, demo)


def test_flow_3_sso_into_a_second_vendor_without_signing_in_again(
    page: Page, demo: LiveDemo
) -> None:
    sign_in_at_vendor(page, demo, ACME)
    careerhub = demo.vendor_urls[CAREERHUB]
    page.goto(careerhub + "/")
    expect(page.get_by_role("link", name="CareerHub Jobs")).to_be_visible()
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)  # its own session: none yet

    seen = record_navigations(page)
    page.get_by_role("link", name="Policy analyst").click()
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(careerhub + "/catalogue/policy-analyst")
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    expect(page.get_by_test_id("item-welcome")).to_be_visible()
    assert portal_forms_shown(seen, demo) == []
    back_to_the_start(page, demo)


def test_flow_4_passive_check_with_and_without_a_portal_session(page: Page, demo: LiveDemo) -> None:
    acme = demo.vendor_urls[ACME]
    seen = record_navigations(page)
    page.goto(acme + "/")
    page.get_by_role("link", name=f"Signed in at {ASSOCIATION}?").click()
    expect(page).to_have_url(f"{acme}/check?sso=login_required")
    expect(page.get_by_test_id("check-result")).to_have_text(
        f"You are not signed in at {ASSOCIATION}."
    )
    assert any("passive=1" in url for url in seen)
    assert portal_forms_shown(seen, demo) == []

    sign_in_at_vendor(page, demo, CAREERHUB)  # a portal session, made at another vendor
    seen.clear()
    page.goto(acme + "/check")
    expect(page).to_have_url(f"{acme}/check")
    expect(page.get_by_test_id("check-result")).to_have_text(
        "Yes: you are signed in here as Ada Lovelace."
    )
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
    assert portal_forms_shown(seen, demo) == []
    back_to_the_start(page, demo)


def test_flow_5_sign_out_from_the_vendor_signs_out_of_both(page: Page, demo: LiveDemo) -> None:
    acme = demo.vendor_urls[ACME]
    sign_in_at_vendor(page, demo, ACME, COURSE)
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(acme + "/")  # the vendor's ReturnURL
    expect(page.get_by_test_id("vendor-notice")).to_have_text(
        f"You are signed out of Acme Learning and of {ASSOCIATION}."
    )
    expect(page.get_by_test_id("vendor-member")).to_have_count(0)
    page.goto(demo.portal_url + "/")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # the portal: signed out

    page.goto(acme + "/")
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(starts_with(f"{demo.portal_url}/sign-in?"))
    expect(page.get_by_label("Password")).to_be_visible()  # credentials are asked again
    back_to_the_start(page, demo)


def test_flow_6_a_bad_return_url_gets_the_portal_error_page_and_no_redirect(
    page: Page, demo: LiveDemo
) -> None:
    query = urlencode({"vendor": ACME, "ReturnURL": "https://evil.example/", "state": "s"})
    url = f"{demo.portal_url}/sso/signin?{query}"
    seen = record_navigations(page)
    response = page.goto(url)

    assert response is not None and response.status == 400
    assert response.request.redirected_from is None
    assert seen == [url]
    expect(page).to_have_url(url)
    expect(page.get_by_role("heading", name="That request can't be used")).to_be_visible()
    expect(page.get_by_text("The ReturnURL is not allowed for Acme Learning")).to_be_visible()
    back_to_the_start(page, demo)


def answered(page: Page, username: str, password: str) -> None:
    """Sign in, and wait for the answer's page: the one before shows the same alert."""
    with page.expect_navigation():
        fill_portal_sign_in(page, username, password)


def test_flow_7_wrong_passwords_then_a_throttle_that_does_not_reveal_the_account(
    page: Page, demo: LiveDemo
) -> None:
    page.goto(demo.vendor_urls[ACME] + "/")
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    alert = page.get_by_role("alert")

    messages = {}
    for username in ("nobody", "ada"):  # an unknown account, then a real one
        for _ in range(5):
            answered(page, username, "not-the-password")
            expect(alert).to_have_text("The username or password is not right.")
        answered(page, username, "not-the-password")
        expect(alert).to_contain_text("Too many failed attempts")
        messages[username] = alert.inner_text()
    assert messages["nobody"] == messages["ada"]  # the same words for both
    assert messages["ada"].startswith("Too many failed attempts. Please wait 1 minute")

    answered(page, "ada", DEMO_PASSWORD)  # even the right password waits
    expect(alert).to_have_text(messages["ada"])
    expect(page).to_have_url(starts_with(f"{demo.portal_url}/sign-in"))
    back_to_the_start(page, demo)
