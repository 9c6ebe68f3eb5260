"""Staff email a member the link "Forgot your password?" sends (admins only): the same message
and the same single-use link (recovery.send_reset_link_for_staff), counted on the member's own
reset limit, and audited as sent by this staff member."""

from quart import Blueprint, current_app, request
from quart.typing import ResponseReturnValue

from portal import clock, db, members, reasons, recovery, settings
from portal.admin.access import record, staff_required
from portal.admin.member_views import member_page
from portal.admin.pages import done
from portal.auth import throttle
from portal.errors import Conflict

blueprint = Blueprint("admin_member_reset_links", __name__)


@blueprint.post("/admin/members/<id:member_id>/reset-link")
@staff_required("admin")
async def send_reset_link(member_id: int) -> ResponseReturnValue:
    current = settings.current()
    # PORTAL_PUBLIC_URL's origin, never the request's Host: a forged Host would send the link
    # to another site.
    origin = current.public_origin(request.host_url.rstrip("/"))
    compose = recovery.reset_mail(current_app.jinja_env, origin, current.association_name)
    try:
        async with db.transaction() as s:
            member = await members.get_member(s, member_id)
            verdict = await recovery.send_reset_link_for_staff(
                s, member, compose, directory=current.directory, mail=bool(current.smtp_url),
                now=clock.now(), policy=throttle.Policy.from_settings(current),
            )  # fmt: skip
            await record(
                s, "member.password_link_sent", "success" if verdict.allowed else "failure",
                member_id=member_id, username=member.username, email=member.email,
                **({} if verdict.allowed else {"reason": reasons.THROTTLED}),
            )  # fmt: skip
    except Conflict as exc:  # iMIS's password, no email, disabled, no mail server
        return await member_page(
            member_id, block="password", status=422, errors={"reset_link": str(exc)}
        )
    if not verdict.allowed:
        error = (
            f"Too many password links were asked for {member.username} lately. Wait "
            f"{verdict.wait_in_words()} and try again."
        )
        response = await member_page(
            member_id, block="password", status=429, errors={"reset_link": error}
        )
        response.headers["Retry-After"] = str(verdict.retry_after or 1)
        return response
    return await done(
        f"/admin/members/{member_id}",
        f"A link to choose a new password was sent to {member.email}.",
        lambda: member_page(member_id, block="password"),
    )
