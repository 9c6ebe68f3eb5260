"""Active member sessions: who is signed in, since when, to which vendors; revoking them."""

from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from portal import clock, db, member_account, members, session_cookies
from portal.admin.access import record, safe_next, staff_required
from portal.admin.pages import done, render
from portal.auth import sessions
from portal.errors import NotFound
from portal.ids import int_argument

blueprint = Blueprint("admin_sessions", __name__)


@blueprint.get("/admin/sessions")
@staff_required()
async def session_list() -> ResponseReturnValue:
    member_id = int_argument(request.args, "member")
    before = int_argument(request.args, "before")
    async with db.transaction() as s:
        member = await members.get_member(s, member_id) if member_id else None
        found = await sessions.member_sessions(
            s, now=clock.now(), policy=session_cookies.policy(), member_id=member_id, before=before
        )
    return await render(
        "admin/sessions/list.html", block="results", page=found, member=member, before=before
    )


@blueprint.post("/admin/sessions/<id:session_id>/revoke")
@staff_required()
async def revoke(session_id: int) -> ResponseReturnValue:
    return await end_one(session_id, member_id=None)


@blueprint.post("/admin/members/<id:member_id>/sessions/<id:session_id>/revoke")
@staff_required()
async def revoke_of_member(member_id: int, session_id: int) -> ResponseReturnValue:
    """The member page's "End": the session must be this member's."""
    return await end_one(session_id, member_id=member_id)


async def end_one(session_id: int, *, member_id: int | None) -> ResponseReturnValue:
    """Staff end one member session, from the Sessions page or the member's page: through
    sessions.end, so every site it reached is told (single logout). One that had ended already
    (a second press: the page was open twice) changes nothing and is not audited again."""
    async with db.transaction() as s:
        if member_id is None:
            row = await sessions.select_member_session(s, session_id)
        else:  # another member's session is not there for this member's page: a 404
            row = await member_account.own_session(s, member_id, session_id)
        if row is None:
            raise NotFound(
                "no such session of this member" if member_id else "no such member session"
            )
        ended = await sessions.end(s, row, now=clock.now(), reason="revoked")
        if ended:
            await record(s, "session.revoked", member_id=row.member_id, session=session_id)
    back = safe_next((await request.form).get("back") or "/admin/sessions")
    message = (
        "Session ended. That browser is signed out."
        if ended
        else "That session had already ended; nothing changed."
    )
    return await done(back, message)


@blueprint.post("/admin/members/<id:member_id>/sessions/revoke")
@staff_required()
async def revoke_member(member_id: int) -> ResponseReturnValue:
    async with db.transaction() as s:
        member = await members.get_member(s, member_id)
        ended = await sessions.end_all(s, "member", member_id, now=clock.now(), reason="revoked")
        await record(
            s, "session.revoked_all", member_id=member_id, username=member.username, ended=ended
        )
    message = f"{ended} session{'s' * (ended != 1)} of {member.username} ended."
    return await done(safe_next((await request.form).get("back") or "/admin/sessions"), message)
