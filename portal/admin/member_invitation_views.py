"""Inviting a member by email to set a first password (admins only): the same single-use link
as a reset (portal/auth/reset_links.py), valid longer (see INVITATION_TTL there)."""

from quart import Blueprint, current_app, request
from quart.typing import ResponseReturnValue

from portal import clock, db, members, recovery, settings
from portal.admin.access import record, staff_required
from portal.admin.member_views import member_page
from portal.admin.pages import done
from portal.auth.reset_links import INVITATION_TTL
from portal.errors import Conflict
from portal.mail.compose import Composed, compose
from portal.models import Member, Staff

blueprint = Blueprint("admin_member_invitations", __name__)


def member_link(raw: str) -> str:
    """The member's page for the link, from PORTAL_PUBLIC_URL, never from the request's Host."""
    origin = settings.current().public_origin(request.host_url.rstrip("/"))
    return f"{origin}/password/reset/{raw}"


async def invitation_mail(member: Member | Staff, raw: str) -> Composed:
    name = settings.current().association_name
    return await compose(
        current_app.jinja_env, "invitation", f"Your {name} account: set your password",
        account=member, link=member_link(raw), days=INVITATION_TTL.days,
    )  # fmt: skip


@blueprint.post("/admin/members/<id:member_id>/invite")
@staff_required("admin")
async def invite(member_id: int) -> ResponseReturnValue:
    try:
        async with db.transaction() as s:
            member = await members.get_member(s, member_id)
            await recovery.invite(s, member, invitation_mail, now=clock.now())
            await record(
                s, "member.invited", member_id=member_id, username=member.username,
                email=member.email,
            )  # fmt: skip
    except Conflict as exc:
        return await member_page(
            member_id, block="password", status=422, errors={"invitation": str(exc)}
        )
    return await done(
        f"/admin/members/{member_id}",
        f"Invitation sent to {member.email}.",
        lambda: member_page(member_id, block="password"),
    )


@blueprint.post("/admin/members/invitations")
@staff_required("admin")
async def invite_everyone_waiting() -> ResponseReturnValue:
    async with db.transaction() as s:
        invited, waiting = await recovery.invite_everyone_waiting(
            s, invitation_mail, now=clock.now()
        )
        for member in invited:
            await record(
                s, "member.invited", member_id=member.id, username=member.username,
                email=member.email,
            )  # fmt: skip
    if not invited:
        message = (
            "Nobody to invite: every local member with an email has a password or an invitation."
        )
    else:
        message = f"Invitations sent to {len(invited)} member{'s' * (len(invited) != 1)}."
        if waiting:
            message += f" {waiting} more are waiting: press “Invite members” again."
    return await done("/admin/members?status=no-password", message)
