"""An admin sends another staff member a one-time link to choose a new password (never a
password the admin chose), and the page the link opens (/staff/password/<token>, outside
/admin: whoever follows it is not signed in)."""

from quart import Blueprint, current_app, flash, redirect, render_template, request
from quart.typing import ResponseReturnValue

from portal import clock, db, recovery, settings, staff
from portal.admin.access import record, staff_required
from portal.admin.pages import done
from portal.admin.staff_views import refuse_self, staff_page
from portal.auth import reset_links
from portal.errors import Conflict, NotFound, PortalError
from portal.mail.compose import Composed, compose
from portal.models import Member, Staff

blueprint = Blueprint("admin_staff_password", __name__)


def staff_link(raw: str) -> str:
    """From PORTAL_PUBLIC_URL, never from the request's Host (a forged Host would otherwise
    send the link to another site)."""
    origin = settings.current().public_origin(request.host_url.rstrip("/"))
    return f"{origin}/staff/password/{raw}"


async def staff_mail(account: Member | Staff, raw: str) -> Composed:
    name = settings.current().association_name
    return await compose(
        current_app.jinja_env, "staff_password", f"Choose a new password for the {name} dashboard",
        account=account, link=staff_link(raw),
        minutes=int(reset_links.RESET_TTL.total_seconds() // 60),
    )  # fmt: skip


@blueprint.post("/admin/staff/<id:staff_id>/password-link")
@staff_required("admin")
async def send_link(staff_id: int) -> ResponseReturnValue:
    try:
        refuse_self(staff_id)
        async with db.transaction() as s:
            account = await staff.get_staff(s, staff_id)
            if not account.enabled:
                raise Conflict(f"{account.email} is disabled; enable the account first.")
            await recovery.send_staff_link(s, account, staff_mail, now=clock.now())
            await record(s, "staff.password_link_sent", staff=account.email)
    except NotFound:
        raise
    except PortalError as exc:
        return await staff_page(status=422, errors={f"row-{staff_id}": str(exc)})
    message = f"A link to choose a new password was emailed to {account.email}."
    return await done("/admin/staff", message, staff_page)


async def staff_link_of(token: str) -> reset_links.Link | None:
    async with db.transaction() as s:
        link = await reset_links.find(s, token[:100], now=clock.now())
    return link if link is not None and link.owner.kind == "staff" else None


async def invalid_link() -> ResponseReturnValue:
    return await render_template("sso/link_invalid.html", for_staff=True), 410


async def disabled_account() -> ResponseReturnValue:
    return await render_template("sso/account_disabled.html", for_staff=True), 403


@blueprint.get("/staff/password/<token>")
async def password_page(token: str) -> ResponseReturnValue:
    link = await staff_link_of(token)
    if link is None:
        return await invalid_link()
    if not link.account_enabled:
        return await disabled_account()
    return await render_template("sso/set_password.html", link=link, errors={})


@blueprint.post("/staff/password/<token>")
async def set_password(token: str) -> ResponseReturnValue:
    form = await request.form
    link = await staff_link_of(token)
    if link is None:
        return await invalid_link()
    if not link.account_enabled:
        async with db.transaction() as s:
            await recovery.refuse_disabled(
                s, link, now=clock.now(), client_address=request.remote_addr
            )
        return await disabled_account()
    try:
        password, confirm = form.get("password", ""), form.get("confirm", "")
        new_hash = await recovery.new_password_hash(password, confirm)
    except PortalError as exc:
        page = await render_template(
            "sso/set_password.html", link=link, errors={"password": str(exc)}
        )
        return page, 422
    async with db.transaction() as s:
        used = await recovery.set_password(
            s, token[:100], new_hash, now=clock.now(), client_address=request.remote_addr
        )
    if used is None:
        return await invalid_link()
    # No session here: the staff sign-in (with its second factor, where set) comes next.
    await flash("Your new password is saved. Sign in with it.", "success")
    return redirect("/admin/sign-in", 303)
