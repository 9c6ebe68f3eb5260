"""A member's forgotten password: ask for a link (/password/forgot), follow it and choose a new
password (/password/reset/<token>); the invitation's link leads to the same page. The pending
vendor request travels with the link, so the member lands where they were going, signed in."""

from quart import Blueprint, abort, current_app, redirect, render_template, request
from quart.typing import ResponseReturnValue

from portal import clock, continuations, db, device_cookies, recovery, session_cookies, settings
from portal.auth import reset_links, throttle
from portal.enhanced.views import Pending, continuation, pending_request
from portal.errors import PortalError
from portal.mail.compose import Composed
from portal.models import Member, Staff

blueprint = Blueprint("recovery", __name__)
# The one answer for every name, known or not (no account enumeration).
SENT = (
    "If that is the username or email of an account, we have sent a link to choose a new "
    "password to the account's email address. The link works for 30 minutes. If nothing "
    "arrives, check your spam folder or ask again."
)


async def reset_mail(member: Member | Staff, raw: str) -> Composed:
    """The reset link's message, as staff's "Send a password-reset email" sends it too."""
    current = settings.current()
    origin = current.public_origin(request.host_url.rstrip("/"))
    compose = recovery.reset_mail(current_app.jinja_env, origin, current.association_name)
    return await compose(member, raw)


def imis_reset_url() -> str | None:
    current = settings.current()
    return current.imis_password_reset_url if current.directory == "imis" else None


@blueprint.get("/password/forgot")
async def forgot_page() -> ResponseReturnValue:
    if imis_reset_url():
        return redirect(imis_reset_url() or "", 303)  # iMIS owns the passwords
    if settings.current().directory != "local":
        abort(404)
    pending = await pending_request(request.args)
    return await render_template("sso/forgot_password.html", pending=pending, login="", sent=None)


@blueprint.post("/password/forgot")
async def forgot() -> ResponseReturnValue:
    if settings.current().directory != "local":
        abort(404)
    form = await request.form
    login = form.get("username", "").strip()[:254]
    pending = await pending_request(form)
    if not login:
        page = await render_template(
            "sso/forgot_password.html", pending=pending, login="",
            sent=None, error="Enter your username or email.",
        )  # fmt: skip
        return page, 422
    asked = recovery.ResetRequest(login, request.remote_addr, pending_continuation(pending))
    async with db.transaction() as s:
        verdict = await recovery.request_reset(
            s, asked, reset_mail, now=clock.now(),
            policy=throttle.Policy.from_settings(settings.current()),
        )  # fmt: skip
    if not verdict.allowed:
        error = f"Too many requests. Please wait {verdict.wait_in_words()} and try again."
        page = await render_template(
            "sso/forgot_password.html", pending=pending, login=login, sent=None, error=error
        )
        return page, 429, {"Retry-After": str(verdict.retry_after or 1)}
    return await render_template(
        "sso/forgot_password.html", pending=pending, login=login, sent=SENT
    )


def pending_continuation(pending: Pending | None) -> str | None:
    return pending.continuation if pending else None


@blueprint.get("/password/reset/<token>")
async def reset_page(token: str) -> ResponseReturnValue:
    # Looking does not use the link: mail scanners open links before the member does.
    async with db.transaction() as s:
        link = await reset_links.find(s, token[:100], now=clock.now())
    if link is None or link.owner.kind != "member":
        return await invalid_link()
    if not link.account_enabled:
        return await disabled_account()
    return await render_template("sso/set_password.html", link=link, errors={})


async def invalid_link() -> ResponseReturnValue:
    page = await render_template("sso/link_invalid.html")
    return page, 410


async def disabled_account() -> ResponseReturnValue:
    return await render_template("sso/account_disabled.html"), 403


@blueprint.post("/password/reset/<token>")
async def reset(token: str) -> ResponseReturnValue:
    form = await request.form
    token, now = token[:100], clock.now()
    async with db.transaction() as s:
        link = await reset_links.find(s, token, now=now)
    if link is None or link.owner.kind != "member":
        return await invalid_link()
    if not link.account_enabled:
        async with db.transaction() as s:
            await recovery.refuse_disabled(s, link, now=now, client_address=request.remote_addr)
        return await disabled_account()
    try:
        new_hash = await recovery.new_password_hash(
            form.get("password", ""), form.get("confirm", "")
        )
    except PortalError as exc:
        page = await render_template(
            "sso/set_password.html", link=link, errors={"password": str(exc)}
        )
        return page, 422
    async with db.transaction() as s:
        used = await recovery.set_password(
            s, token, new_hash, now=now, client_address=request.remote_addr
        )
        if used is None:  # used, voided or expired since the check above
            return await invalid_link()
        goes_on = continuations.checked(used.continuation)
        await session_cookies.begin(
            s, "member", used.owner.account_id, fresh_sign_in=goes_on is not None
        )
    response = redirect(continuation(Pending(goes_on, None) if goes_on else None), 303)
    return device_cookies.remember(response, "member", used.owner.account_id)
