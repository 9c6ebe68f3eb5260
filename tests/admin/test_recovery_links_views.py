"""Admins invite members to set a first password, and send other staff a one-time link to choose
a new one: the email in the outbox, the link's page, the member list and detail, the audit."""

import re
from typing import Any

import pytest
from quart import Quart
from sqlmodel import col, select

from portal import members
from portal.audit_models import AuditEvent
from portal.mail import sending, smtp
from portal.outbox import queue
from portal.outbox.models import OutboxItem
from tests.admin.browser import STAFF_PASSWORD, Browser, add_staff, text
from tests.conftest import FakeClock
from tests.flows import csrf_of, sign_in, unit_of_work

NEW_PASSWORD = "a brand new passphrase"


async def add_invitee(database_url: str, **values: str) -> int:
    data = {"imis_id": "201", "username": "grace", "email": "grace@example.org",
            "first_name": "Grace", **values}  # fmt: skip
    async with unit_of_work(database_url) as db:
        member = await members.add_member(db, members.parse_member(data))
        assert member.id is not None
        return member.id


async def admin(app: Quart, database_url: str) -> Browser:
    await add_staff(database_url, "admin@example.org", "admin")
    browser = Browser(app)
    assert (await browser.sign_in("admin@example.org")).status_code == 303
    return browser


async def last_mail(database_url: str) -> dict[str, Any]:
    """The payload of the latest mail in the outbox."""
    async with unit_of_work(database_url) as db:
        query = select(OutboxItem).where(OutboxItem.kind == "mail")
        found = (await db.exec(query.order_by(col(OutboxItem.id).desc()))).first()
    assert found is not None, "no mail in the outbox"
    return found.payload


def token_in(mail: dict[str, Any], path: str) -> str:
    found = re.search(rf"{path}/([A-Za-z0-9_-]+)", mail["text"])
    assert found, mail["text"]
    return found.group(1)


async def events(database_url: str, name: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as db:
        return list((await db.exec(select(AuditEvent).where(AuditEvent.event == name))).all())


async def set_password(client, path: str, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    page = await client.get(path)
    if page.status_code != 200:
        return page
    form = {"csrf_token": csrf_of(await page.get_data(as_text=True)),
            "password": password, "confirm": password}  # fmt: skip
    return await client.post(path, form=form)


async def test_an_invited_member_sets_a_first_password_and_staff_see_it(
    app: Quart, database_url: str
) -> None:
    member_id = await add_invitee(database_url)
    staff = await admin(app, database_url)
    response = await staff.post(f"/admin/members/{member_id}/invite")
    assert response.status_code == 303
    mail = await last_mail(database_url)
    assert mail["recipient"] == "grace@example.org" and mail["purpose"] == "invitation"
    assert "Example Association" in mail["subject"] and "grace" in mail["text"]
    detail = await (await staff.get(f"/admin/members/{member_id}")).get_data(as_text=True)
    assert "Invitation emailed" in detail and "not accepted yet" in detail
    listing = await (await staff.get("/admin/members")).get_data(as_text=True)
    assert "Invited" in listing
    [invited] = await events(database_url, "member.invited")
    assert invited.staff_email == "admin@example.org" and invited.member_id == member_id

    token = token_in(mail, "/password/reset")
    member = app.test_client()
    page = await member.get(f"/password/reset/{token}")
    assert "Set your password" in await page.get_data(as_text=True)
    done = await set_password(member, f"/password/reset/{token}")
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert (await member.get("/")).status_code == 200
    detail = await (await staff.get(f"/admin/members/{member_id}")).get_data(as_text=True)
    assert "Accepted" in detail
    listing = await (await staff.get("/admin/members")).get_data(as_text=True)
    assert "Accepted invitation" in listing
    assert len(await events(database_url, "member.invitation_accepted")) == 1
    assert (await sign_in(app.test_client(), "grace", NEW_PASSWORD)).status_code == 303


@pytest.mark.parametrize(
    ("values", "words"),
    [({"email": ""}, "no email address"), ({"password": "x"}, "already has a password")],
)
async def test_invitations_only_for_members_who_can_use_them(
    app: Quart, database_url: str, values: dict[str, str], words: str
) -> None:
    password = values.pop("password", None)
    member_id = await add_invitee(database_url, **values)
    if password:
        async with unit_of_work(database_url) as db:
            member = await members.get_member(db, member_id)
            await members.set_password(db, member, "the member's own password", now=FakeClock()())
    staff = await admin(app, database_url)
    response = await staff.post(f"/admin/members/{member_id}/invite")
    assert response.status_code == 422
    assert words in await response.get_data(as_text=True)
    assert await events(database_url, "member.invited") == []


async def test_an_invitation_lasts_three_days(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    member_id = await add_invitee(database_url)
    staff = await admin(app, database_url)
    await staff.post(f"/admin/members/{member_id}/invite")
    token = token_in(await last_mail(database_url), "/password/reset")
    clock.advance(days=2, hours=23)
    assert (await app.test_client().get(f"/password/reset/{token}")).status_code == 200
    clock.advance(hours=1)
    assert (await app.test_client().get(f"/password/reset/{token}")).status_code == 410


async def test_a_staff_member_chooses_a_new_password_with_the_emailed_link(
    app: Quart, database_url: str
) -> None:
    other_id = await add_staff(database_url, "other@example.org", "viewer")
    other = Browser(app)
    assert (await other.sign_in("other@example.org")).status_code == 303
    staff = await admin(app, database_url)
    response = await staff.post(f"/admin/staff/{other_id}/password-link")
    assert response.status_code == 303
    mail = await last_mail(database_url)
    assert mail["recipient"] == "other@example.org" and mail["purpose"] == "staff_password"
    [sent] = await events(database_url, "staff.password_link_sent")
    assert sent.staff_email == "admin@example.org" and sent.details["staff"] == "other@example.org"
    token = token_in(mail, "/staff/password")
    # A staff link is no member link, and the reverse.
    assert (await app.test_client().get(f"/password/reset/{token}")).status_code == 410

    done = await set_password(app.test_client(), f"/staff/password/{token}")
    assert done.status_code == 303 and done.headers["Location"] == "/admin/sign-in"
    assert (await other.get("/admin/")).status_code == 303, "their other sessions end"
    assert (await Browser(app).sign_in("other@example.org")).status_code == 401
    assert (await Browser(app).sign_in("other@example.org", NEW_PASSWORD)).status_code == 303
    again = await set_password(app.test_client(), f"/staff/password/{token}", "another one!!")
    assert again.status_code == 410
    assert len(await events(database_url, "staff.password_set_by_link")) == 1


async def test_an_admin_cannot_send_themselves_a_link(app: Quart, database_url: str) -> None:
    my_id = await add_staff(database_url, "me@example.org", "admin")
    staff = Browser(app)
    assert (await staff.sign_in("me@example.org")).status_code == 303
    response = await staff.post(f"/admin/staff/{my_id}/password-link")
    assert response.status_code == 422
    assert await events(database_url, "staff.password_link_sent") == []
    assert (await Browser(app).sign_in("me@example.org", STAFF_PASSWORD)).status_code == 303


async def test_an_email_given_up_on_is_an_error_on_the_overview(
    app: Quart, database_url: str, clock: FakeClock, own_port: int
) -> None:
    member_id = await add_invitee(database_url)
    staff = await admin(app, database_url)
    await staff.post(f"/admin/members/{member_id}/invite")
    nowhere = sending.kind(smtp.Server.from_url(f"smtp://127.0.0.1:{own_port}"), "p@x")
    while await queue.deliver_due(lambda: unit_of_work(database_url), clock, nowhere):
        clock.advance(hours=1)
    assert (await staff.sign_in("admin@example.org")).status_code == 303  # hours later
    body = await text(await staff.get("/admin/"))
    errors = body.split('id="portal-errors"')[1].split("</section>")[0]
    assert "An email could not be sent" in errors
    assert "PORTAL_SMTP_URL" in errors


async def test_no_link_for_a_disabled_staff_account(app: Quart, database_url: str) -> None:
    other_id = await add_staff(database_url, "other@example.org", "viewer")
    staff = await admin(app, database_url)
    assert (await staff.post(f"/admin/staff/{other_id}/disable")).status_code == 303
    response = await staff.post(f"/admin/staff/{other_id}/password-link")
    assert response.status_code == 422
    assert "enable the account first" in await response.get_data(as_text=True)
    assert await events(database_url, "staff.password_link_sent") == []


async def test_invite_everyone_waiting_invites_each_once(app: Quart, database_url: str) -> None:
    first = await add_invitee(database_url)
    second = await add_invitee(database_url, imis_id="202", username="hedy", email="h@example.org")
    await add_invitee(database_url, imis_id="203", username="nomail", email="")
    staff = await admin(app, database_url)
    response = await staff.post("/admin/members/invitations", {"expected": "2"})
    assert response.status_code == 303
    listing = await (await staff.get(response.headers["Location"])).get_data(as_text=True)
    assert "2 invitations written to the outbox." in listing
    async with unit_of_work(database_url) as db:
        query = select(OutboxItem).order_by(col(OutboxItem.id))
        sent = [row.payload["recipient"] for row in await db.exec(query)]
    assert sent == ["grace@example.org", "h@example.org"]
    assert sorted(e.member_id for e in await events(database_url, "member.invited")) == [
        first,
        second,
    ]
    again = await staff.post("/admin/members/invitations", {"expected": "0"})
    listing = await (await staff.get(again.headers["Location"])).get_data(as_text=True)
    assert "Nobody to invite" in listing
    assert len(await events(database_url, "member.invited")) == 2
