"""Active member sessions: who is signed in, since when, to which vendors; revoking them."""

from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from portal import clock, db, members, session_cookies
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
    async with db.transaction() as s:
        row = await sessions.select_member_session(s, session_id)
        if row is None or row.member_id is None:
            raise NotFound("no such member session")
        await sessions.end(s, row, now=clock.now(), reason="revoked")
        await record(s, "session.revoked", member_id=row.member_id, session=session_id)
    back = safe_next((await request.form).get("back") or "/admin/sessions")
    return await done(back, "Session ended. That browser is signed out.")


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
