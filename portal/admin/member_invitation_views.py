"""Inviting a member by email to set a first password (admins only): the same single-use link
as a reset (portal/auth/reset_links.py), valid longer (see INVITATION_TTL there)."""

from datetime import datetime
from urllib.parse import urlencode

from quart import Blueprint, current_app, request
from quart.typing import ResponseReturnValue

from portal import clock, db, invitations, members, recovery, settings
from portal.admin.access import record, staff_required
from portal.admin.member_views import member_page
from portal.admin.pages import done, render
from portal.auth.reset_links import INVITATION_TTL
from portal.errors import Conflict, InvalidField
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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


async def choosing(
    narrowing: invitations.Narrowing, *, status: int = 200, error: str = ""
) -> ResponseReturnValue:
    """The "Invite members" page: the choice, how many it invites, and the confirmation."""
    async with db.transaction() as s:
        count = await invitations.waiting(s, narrowing)
        types, statuses = await invitations.choices(s)
    return await render(
        "admin/members/invitations.html", status=status, narrowing=narrowing, count=count,
        now_count=min(count, invitations.BATCH), types=types, statuses=statuses, error=error,
        plural=_plural,
    )  # fmt: skip


@blueprint.get("/admin/members/invitations")
@staff_required("admin")
async def invitations_page() -> ResponseReturnValue:
    try:
        narrowing = invitations.Narrowing.read(dict(request.args))
    except InvalidField as exc:
        return await choosing(invitations.Narrowing(), status=422, error=str(exc))
    return await choosing(narrowing)


@blueprint.post("/admin/members/invitations")
@staff_required("admin")
async def invite_the_chosen() -> ResponseReturnValue:
    form = dict(await request.form)
    try:
        narrowing = invitations.Narrowing.read(form)
        expected = int(form.get("expected", ""))
    except (InvalidField, ValueError):
        return await choosing(invitations.Narrowing(), status=422, error="Choose again.")
    now = clock.now()
    async with db.transaction() as s:
        # Staff confirmed a number: if the members it counted changed since, ask again.
        if await invitations.waiting(s, narrowing) != expected:
            changed = True
        else:
            changed = False
            invited = await invitations.invite(s, narrowing, invitation_mail, now=now)
            for member in invited:
                await record(
                    s, "member.invited", member_id=member.id, username=member.username,
                    email=member.email,
                )  # fmt: skip
    if changed:
        return await choosing(
            narrowing, status=409, error="The number changed since you looked: check it again."
        )
    if not invited:
        return await done("/admin/members/invitations", "Nobody to invite.")
    message = f"{_plural(len(invited), 'invitation')} written to the outbox."
    if expected > len(invited):
        message += f" {expected - len(invited)} more are waiting: invite them next."
    progress = f"/admin/members/invitations/progress?{urlencode({'at': now.isoformat()})}"
    return await done(progress, message)


@blueprint.get("/admin/members/invitations/progress")
@staff_required("admin")
async def invitation_progress() -> ResponseReturnValue:
    try:
        at = datetime.fromisoformat(request.args.get("at", ""))
    except ValueError:
        return await choosing(invitations.Narrowing(), status=422, error="No such invitations.")
    async with db.transaction() as s:
        progress = await invitations.progress(s, at)
    return await render(
        "admin/members/invitation_progress.html", block="progress", progress=progress,
        at=at.isoformat(), plural=_plural,
    )  # fmt: skip
