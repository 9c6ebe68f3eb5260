"""The portal's signed-out page: which of the member's sites were signed out with the portal
session, and which were not, truthfully (docs/single-logout.md): a site is "being signed out"
only when this portal sends back-channel notices, "signed out on the way here" only when it
answered so through the browser (SAML's front-channel chain). The page also loads the
front-channel logout page of each site that has one and no back channel, in hidden frames."""

from quart import render_template, request
from quart.typing import ResponseReturnValue

from portal import db, logout_notices, session_cookies, settings, single_logout
from portal.auth import sessions
from portal.security import content_security_policy


async def page(notice: str | None) -> ResponseReturnValue:
    report = await _report()
    html = await render_template("sso/signed_out.html", notice=notice, report=report)
    origins = sorted({single_logout.origin_of(url) for url in report.frames}) if report else []
    # Frames of exactly the sites being signed out, and nothing else.
    policy = content_security_policy(frame_src=" ".join(origins) or "'none'")
    return html, 200, {"Content-Security-Policy": policy}


async def _report() -> single_logout.SignOutReport | None:
    ended_id = session_cookies.signed_out_session_id()
    if ended_id is None:
        return None
    issuer = settings.current().issuer_for(request.host_url.rstrip("/"))
    sending = logout_notices.sending(settings.current())
    async with db.transaction() as db_session:
        ended = await sessions.select_member_session(db_session, ended_id)
        if ended is None or ended.ended_at is None:
            return None
        return await single_logout.sign_out_report(
            db_session,
            ended_id,
            sid=ended.sid,
            issuer=issuer,
            sending=sending,
            through_browser=session_cookies.told_through_browser(ended_id),
        )
