"""Staff send a member the password-reset email from the member page (issue 25): the link
"Forgot your password?" sends, in the outbox; not offered to iMIS members, members without an
email or a portal without a mail server, saying why; admins only; the member's own limit."""

from collections.abc import AsyncIterator

import pytest
from quart import Quart
from sqlmodel import col, select

from portal.models import Member
from portal.outbox.models import OutboxItem
from tests.admin.browser import Browser, add_staff, text
from tests.admin.test_member_views import member_id
from tests.admin.test_recovery_links_views import NEW_PASSWORD, events, last_mail, set_password
from tests.conftest import FakeClock, running_app
from tests.enhanced.test_recovery_views import MAIL, ask
from tests.flows import add_member, sign_in, unit_of_work

IMIS_RESET = "https://imis.example.org/reset-password"


@pytest.fixture
async def app(settings, clock: FakeClock) -> AsyncIterator[Quart]:  # type: ignore[no-untyped-def]
    # A mail server is configured; no worker reaches it here, so the mail is read from the outbox.
    async with running_app(settings, clock, imis_password_reset_url=IMIS_RESET, **MAIL) as app:
        yield app


async def send(staff: Browser, member: int, **kw: bool):  # type: ignore[no-untyped-def]
    return await staff.post(f"/admin/members/{member}/reset-link", **kw)


async def mail_count(database_url: str) -> int:
    async with unit_of_work(database_url) as db:
        return len(list(await db.exec(select(OutboxItem).where(OutboxItem.kind == "mail"))))


async def test_staff_send_the_forgot_password_link_and_the_member_uses_it(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    page = await text(await admin.get(f"/admin/members/{ada}"))
    assert "Send a password-reset email" in page and "for 30 minutes" in page
    response = await send(admin, ada)
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/members/{ada}"
    after = await text(await admin.get(f"/admin/members/{ada}"))
    assert "A link to choose a new password was sent to ada@example.org." in after
    assert "Password link emailed to a member by staff" in after  # the recent activity

    mail = await last_mail(database_url)
    assert mail["recipient"] == "ada@example.org" and mail["purpose"] == "password_reset"
    # The very message "Forgot your password?" sends.
    await ask(app.test_client(), "ada")
    asked = await last_mail(database_url)
    assert mail["subject"] == asked["subject"] == "Choose a new password for Example Association"
    assert mail["text"].split("/password/reset/")[0] == asked["text"].split("/password/reset/")[0]

    [sent] = await events(database_url, "member.password_link_sent")
    assert (sent.outcome, sent.staff_email, sent.member_id) == ("success", "admin@example.org", ada)
    assert sent.username == "ada" and sent.details["email"] == "ada@example.org"

    # The staff's link was voided by the member's newer one; a fresh one from staff works.
    await send(admin, ada)
    token = (await last_mail(database_url))["text"].split("/password/reset/")[1].split()[0]
    done = await set_password(app.test_client(), f"/password/reset/{token}")
    assert done.status_code == 303
    assert (await sign_in(app.test_client(), password=NEW_PASSWORD)).status_code == 303


async def test_htmx_gets_the_password_block_with_the_message(
    admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    response = await send(admin, ada, htmx=True)
    body = await text(response)
    assert response.status_code == 200 and "<html" not in body
    assert 'id="member-password"' in body and "was sent to ada@example.org" in body


async def test_not_offered_for_an_imis_member_who_is_sent_to_imis(
    admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    async with unit_of_work(database_url) as db:
        member = (await db.exec(select(Member).where(col(Member.id) == ada))).one()
        member.source, member.password_hash = "imis", None
        db.add(member)
    page = await text(await admin.get(f"/admin/members/{ada}"))
    assert "Send a password-reset email" not in page
    assert "The portal sends them no password-reset email" in page
    assert f'<a href="{IMIS_RESET}">' in page
    response = await send(admin, ada)
    assert response.status_code == 422
    assert "signs in with iMIS, which keeps their password" in await text(response)
    assert await mail_count(database_url) == 0
    assert await events(database_url, "member.password_link_sent") == []


async def test_not_offered_without_an_email_address(admin: Browser, database_url: str) -> None:
    await add_member(database_url, email=None)
    ada = await member_id(database_url)
    page = await text(await admin.get(f"/admin/members/{ada}"))
    assert "Send a password-reset email" not in page
    assert "has no email address; add one to send them a link" in page
    response = await send(admin, ada)
    assert response.status_code == 422
    assert "has no email address; add one" in await text(response)
    assert await mail_count(database_url) == 0
    assert await events(database_url, "member.password_link_sent") == []


async def test_without_a_mail_server_staff_are_told_so(
    settings,
    clock: FakeClock,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    await add_staff(database_url, "admin@example.org", "admin")
    async with running_app(settings, clock) as app:  # no PORTAL_SMTP_URL
        staff = Browser(app)
        assert (await staff.sign_in("admin@example.org")).status_code == 303
        page = await text(await staff.get(f"/admin/members/{ada}"))
        assert "Send a password-reset email" not in page and "PORTAL_SMTP_URL" in page
        response = await send(staff, ada)
        assert response.status_code == 422 and "no mail server" in await text(response)
    assert await mail_count(database_url) == 0


async def test_viewers_are_neither_offered_it_nor_let_through(
    admin: Browser, viewer: Browser, database_url: str
) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    assert "Send a password-reset email" not in await text(
        await viewer.get(f"/admin/members/{ada}")
    )
    response = await send(viewer, ada)
    assert response.status_code == 403
    assert "Only admins can make changes" in await text(response)
    assert (await send(admin, ada, csrf=False)).status_code == 403  # a forged form
    assert await mail_count(database_url) == 0
    assert await events(database_url, "member.password_link_sent") == []


async def test_staff_and_the_member_share_the_members_reset_limit(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_member(database_url)
    ada = await member_id(database_url)
    for _ in range(3):
        await ask(app.test_client(), "ada")
    assert [(await send(admin, ada)).status_code for _ in range(2)] == [303, 303]
    held = await send(admin, ada)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert "Too many password links were asked for ada lately" in await text(held)
    assert await mail_count(database_url) == 5, "a held-back request sends nothing"
    refused = [
        e for e in await events(database_url, "member.password_link_sent") if e.outcome != "success"
    ]
    assert [(e.outcome, e.details["reason"]) for e in refused] == [("failure", "throttled")]
