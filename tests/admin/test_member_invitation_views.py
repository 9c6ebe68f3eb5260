"""Inviting members with care (issue 26 item 4): staff see how many will be invited, narrow it by
member type, status or the day they were imported, confirm with the number, and watch the
invitations go out."""

import re

from quart import Quart
from sqlmodel import col, select

from portal.outbox.models import OutboxItem
from tests.admin.test_recovery_links_views import add_invitee, admin, events
from tests.flows import unit_of_work


def text(html: str) -> str:
    """The page's words, tags and extra spaces gone."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def recipients(database_url: str) -> list[str]:
    async with unit_of_work(database_url) as db:
        query = select(OutboxItem).order_by(col(OutboxItem.id))
        return [row.payload["recipient"] for row in await db.exec(query)]


async def three_invitees(database_url: str) -> None:
    await add_invitee(database_url, member_type="REG")
    await add_invitee(
        database_url, imis_id="202", username="hedy", email="h@example.org", member_type="STU"
    )
    await add_invitee(
        database_url, imis_id="203", username="ada", email="a@example.org", member_type="REG",
        member_status="I",
    )  # fmt: skip


async def test_staff_see_how_many_and_narrow_before_inviting(app: Quart, database_url: str) -> None:
    await three_invitees(database_url)
    staff = await admin(app, database_url)
    page = text(await (await staff.get("/admin/members/invitations")).get_data(as_text=True))
    assert "3 members will be invited" in page
    narrowed = await staff.get("/admin/members/invitations", member_type="REG", status="A")
    words = text(await narrowed.get_data(as_text=True))
    assert "1 member will be invited" in words and "Invite 1 member" in words
    assert await recipients(database_url) == []  # looking sends nothing


async def test_the_invitation_goes_to_the_narrowed_members_and_reports_progress(
    app: Quart, database_url: str
) -> None:
    await three_invitees(database_url)
    staff = await admin(app, database_url)
    form = {"member_type": "REG", "status": "", "imported_on": "", "expected": "2"}
    response = await staff.post("/admin/members/invitations", form)
    assert response.status_code == 303
    assert sorted(await recipients(database_url)) == ["a@example.org", "grace@example.org"]
    assert len(await events(database_url, "member.invited")) == 2
    progress = text(await (await staff.get(response.headers["Location"])).get_data(as_text=True))
    assert "2 invitations" in progress and "2 waiting to be sent" in progress


async def test_a_number_that_changed_is_confirmed_again(app: Quart, database_url: str) -> None:
    await three_invitees(database_url)
    staff = await admin(app, database_url)
    response = await staff.post("/admin/members/invitations", {"expected": "2"})
    assert response.status_code == 409
    assert "3 members will be invited" in text(await response.get_data(as_text=True))
    assert await recipients(database_url) == []


async def test_bad_filters_are_no_500(app: Quart, database_url: str) -> None:
    staff = await admin(app, database_url)
    response = await staff.get("/admin/members/invitations", imported_on="not a date")
    assert response.status_code == 422
    bad = await staff.post("/admin/members/invitations", {"expected": "many"})
    assert bad.status_code == 422
    progress = await staff.get("/admin/members/invitations/progress", at="yesterday")
    assert progress.status_code == 422
