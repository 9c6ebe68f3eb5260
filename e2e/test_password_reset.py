"""A member who forgot their password, in Chromium: from the demo vendor's sign-in, through
"Forgot your password?", the email caught by the demo's real SMTP sink (aiosmtpd) and shown at
/dev/mail, to a new password and back on the vendor signed in. An unknown name gets the very
same answer, and no email. And a member invited by staff sets a first password the same way."""

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e.steps import ASSOCIATION, COURSE, fill_portal_sign_in, nav, staff_sign_in, starts_with
from portal import members
from portal.demo.mailbox import Mailbox
from tests.flows import off_the_loop, unit_of_work
from tests.live import ACME, LiveDemo, live_demo

NEW_PASSWORD = "my brand new passphrase"
WAIT_MS = 15_000  # the delivery loop looks at the outbox every second


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def demo(database_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[LiveDemo]:
    with live_demo(database_url, tmp_path, mailbox=mailbox) as running:
        yield running


def ask_for_a_link(page: Page, demo: LiveDemo, login: str) -> str:
    """From the vendor's deep link to the portal's answer; returns the answer's words."""
    page.goto(demo.vendor_urls[ACME] + COURSE)
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    expect(page).to_have_url(starts_with(f"{demo.portal_url}/sign-in?"))
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Username or email").fill(login)
    page.get_by_role("button", name="Email me a link").click()
    answer = page.get_by_test_id("reset-sent")
    expect(answer).to_be_visible()
    return answer.inner_text()


def open_the_caught_mail(page: Page, demo: LiveDemo) -> None:
    """The demo's page of caught mail, reloaded until the worker has delivered the message."""
    page.goto(f"{demo.portal_url}/dev/mail")
    expect(page.get_by_role("heading", name="Caught mail")).to_be_visible()
    for _ in range(WAIT_MS // 250):
        if page.get_by_test_id("caught-mail").count():
            return
        page.wait_for_timeout(250)
        page.reload()
    raise AssertionError("no mail arrived at the SMTP sink")


def test_a_member_resets_a_forgotten_password_and_lands_on_the_vendor_signed_in(
    page: Page, demo: LiveDemo, mailbox: Mailbox
) -> None:
    known = ask_for_a_link(page, demo, "ada")
    open_the_caught_mail(page, demo)
    [message] = mailbox.messages
    assert message.recipients == ["ada@example.org"]
    assert ASSOCIATION in message.subject and ASSOCIATION in message.html
    caught = page.get_by_test_id("caught-mail")
    expect(caught).to_contain_text("Choose a new password")
    caught.get_by_test_id("mail-link").click()

    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password and sign in").click()

    expect(page).to_have_url(demo.vendor_urls[ACME] + COURSE)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")

    # The link worked once: opening it again says so.
    page.goto(message.links[0])
    expect(page.get_by_role("heading", name="This link can no longer be used")).to_be_visible()
    # And the new password is the password now.
    page.context.clear_cookies()
    page.goto(demo.vendor_urls[ACME] + COURSE)
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    fill_portal_sign_in(page, "ada", NEW_PASSWORD)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")

    page.context.clear_cookies()
    unknown = ask_for_a_link(page, demo, "nobody-by-this-name")
    assert unknown == known, "an unknown name gets the same answer"
    assert len(mailbox.messages) == 1


def test_an_unknown_name_gets_the_same_answer_and_no_mail(
    page: Page, demo: LiveDemo, mailbox: Mailbox
) -> None:
    unknown = ask_for_a_link(page, demo, "nobody@example.org")
    known = ask_for_a_link(page, demo, "grace@example.org")
    assert unknown == known
    open_the_caught_mail(page, demo)
    assert [m.recipients for m in mailbox.messages] == [["grace@example.org"]]
    expect(page.get_by_test_id("caught-mail")).to_have_count(1)


async def add_member_without_password(database_url: str) -> None:
    values = {"imis_id": "301", "username": "mary", "email": "mary@example.org",
              "first_name": "Mary", "last_name": "Somerville", "member_type": "REG"}  # fmt: skip
    async with unit_of_work(database_url) as db:
        await members.add_member(db, members.parse_member(values))


def test_an_invited_member_sets_a_first_password_and_staff_see_who_accepted(
    page: Page, staff_page: Page, demo: LiveDemo, mailbox: Mailbox
) -> None:
    off_the_loop(lambda: asyncio.run(add_member_without_password(demo.database_url)))
    staff_sign_in(staff_page, demo)
    nav(staff_page, "Members").click()
    staff_page.get_by_role("link", name="Mary Somerville").click()
    invitation = staff_page.get_by_test_id("member-invitation")
    expect(invitation).to_contain_text("Not invited.")
    invitation.get_by_role("button", name="Send invitation").click()
    expect(invitation).to_contain_text("not accepted yet")
    staff_page.reload()
    expect(staff_page.get_by_test_id("member-status")).to_contain_text("Invited")

    open_the_caught_mail(page, demo)
    [message] = mailbox.messages
    assert message.recipients == ["mary@example.org"]
    page.get_by_test_id("caught-mail").get_by_test_id("mail-link").click()
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password and sign in").click()
    expect(page).to_have_url(f"{demo.portal_url}/")
    expect(page.get_by_text("Mary")).not_to_have_count(0)

    staff_page.reload()
    expect(staff_page.get_by_test_id("member-status")).to_contain_text("Accepted invitation")
    expect(staff_page.get_by_test_id("member-invitation")).to_contain_text("Accepted")


def test_an_admin_emails_a_staff_member_a_link_and_they_choose_a_new_password(
    page: Page, staff_page: Page, demo: LiveDemo, mailbox: Mailbox
) -> None:
    staff_sign_in(staff_page, demo)
    nav(staff_page, "Staff").click()
    staff_page.get_by_role("button", name="Email password link to viewer@example.org").click()
    expect(staff_page.get_by_text("was emailed to viewer@example.org")).to_be_visible()

    open_the_caught_mail(page, demo)
    [message] = mailbox.messages
    assert message.recipients == ["viewer@example.org"]
    assert "/staff/password/" in message.links[0]
    page.get_by_test_id("caught-mail").get_by_test_id("mail-link").click()
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password").click()
    expect(page).to_have_url(f"{demo.portal_url}/admin/sign-in")
    expect(page.get_by_text("Your new password is saved")).to_be_visible()
    page.get_by_label("Email").fill("viewer@example.org")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{demo.portal_url}/admin/")


def test_staff_send_a_member_the_reset_email_from_the_member_page(
    page: Page, staff_page: Page, demo: LiveDemo, mailbox: Mailbox
) -> None:
    staff_sign_in(staff_page, demo)
    nav(staff_page, "Members").click()
    staff_page.get_by_role("link", name=re.compile(r"^(View|Edit) ada$")).click()
    card = staff_page.get_by_test_id("member-reset-link")
    card.get_by_role("button", name="Send a password-reset email").click()
    expect(staff_page.get_by_text("was sent to ada@example.org")).to_be_visible()

    open_the_caught_mail(page, demo)
    [message] = mailbox.messages
    assert message.recipients == ["ada@example.org"] and "/password/reset/" in message.links[0]
    page.get_by_test_id("caught-mail").get_by_test_id("mail-link").click()
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password and sign in").click()
    expect(page).to_have_url(f"{demo.portal_url}/")


def test_a_reset_asked_for_from_the_help_page_lands_on_the_vendor(
    page: Page, demo: LiveDemo, mailbox: Mailbox
) -> None:
    """Issue 26, item 10: wrong password, "Trouble signing in?", "Forgot your password?" —
    the new password still ends on the vendor's page the member set out for."""
    page.goto(demo.vendor_urls[ACME] + COURSE)
    page.get_by_role("link", name=f"Sign in with {ASSOCIATION}").click()
    fill_portal_sign_in(page, password="not the password")
    page.get_by_role("link", name="Trouble signing in?").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Username or email").fill("ada")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_test_id("reset-sent")).to_be_visible()
    open_the_caught_mail(page, demo)
    page.get_by_test_id("caught-mail").get_by_test_id("mail-link").click()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password and sign in").click()
    expect(page).to_have_url(demo.vendor_urls[ACME] + COURSE)
    expect(page.get_by_test_id("vendor-member")).to_have_text("Ada Lovelace")
