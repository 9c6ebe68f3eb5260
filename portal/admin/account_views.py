"""Your account: every staff member, viewers included, changes their own password and sets up
two-factor sign-in and its recovery codes here."""

from typing import Any

from quart import Blueprint, Response, redirect, request
from quart.typing import ResponseReturnValue

from portal import clock, db, session_cookies, settings, staff
from portal.admin.access import current_staff, record, staff_required
from portal.admin.pages import done, render
from portal.auth import mfa, throttle
from portal.errors import InvalidField
from portal.models import id_of

blueprint = Blueprint("admin_account", __name__)
ACCOUNT = "/admin/account"


async def account_page(*, status: int = 200, **extra: Any) -> Response:
    account = current_staff()
    async with db.transaction() as s:
        codes_left = await mfa.count_recovery_codes(s, id_of(account))
    context = {
        "enrolled": mfa.is_enrolled(account),
        "codes_left": codes_left,
        "required": settings.current().staff_mfa == "required" and account.role == "admin",
        "errors": {},
        **extra,
    }
    return await render("admin/account/index.html", status=status, **context)


@blueprint.get(ACCOUNT)
@staff_required("viewer")
async def account() -> ResponseReturnValue:
    return await account_page()


@blueprint.post(f"{ACCOUNT}/password")
@staff_required("viewer")
async def change_password() -> ResponseReturnValue:
    form = await request.form
    current, new = form.get("current_password", ""), form.get("new_password", "")
    async with db.transaction() as s:
        session = await session_cookies.current(s, "staff")
    try:
        change = await staff.change_own_password(
            db.transaction,
            current_staff(),
            current,
            new,
            session_id=session.id if session and session.id else 0,
            client_address=request.remote_addr,
            now=clock.now(),
            policy=throttle.Policy.from_settings(settings.current()),
        )
    except InvalidField as exc:
        return await account_page(status=422, errors={"new_password": str(exc)})
    if not change.changed:
        if change.verdict.allowed:
            error, status = "That is not your current password.", 422
        else:
            error, status = "Too many wrong passwords. Wait and retry, or ask an admin.", 429
        return await account_page(status=status, errors={"current_password": error})
    ended = change.sessions_ended
    others = f" Signed out elsewhere: {ended} other session{'s' * (ended != 1)}." if ended else ""
    return await done(ACCOUNT, f"Your password is changed.{others}")


@blueprint.get(f"{ACCOUNT}/two-factor")
@staff_required("viewer", enrolling=True)
async def enrolment_page() -> ResponseReturnValue:
    async with db.transaction() as s:
        account = await staff.get_staff(s, id_of(current_staff()))
        enrolment = await mfa.begin_enrolment(
            s, account, issuer=settings.current().association_name
        )
    if enrolment is None:
        return redirect(ACCOUNT, 303)
    return await render_enrolment(enrolment)


async def render_enrolment(
    enrolment: mfa.Enrolment, *, status: int = 200, error: str | None = None
) -> Response:
    due = mfa.enrolment_due(current_staff(), required=settings.current().staff_mfa == "required")
    return await render(
        "admin/account/two_factor.html", status=status, enrolment=enrolment, error=error, due=due
    )


@blueprint.post(f"{ACCOUNT}/two-factor")
@staff_required("viewer", enrolling=True)
async def confirm_enrolment() -> ResponseReturnValue:
    code = (await request.form).get("code", "")[:64]
    issuer = settings.current().association_name
    async with db.transaction() as s:
        account = await staff.get_staff(s, id_of(current_staff()))
        if mfa.is_enrolled(account):
            return redirect(ACCOUNT, 303)
        codes = await mfa.confirm_enrolment(s, account, code, now=clock.now())
        if codes is not None:
            await record(s, "staff.mfa_enrolled", staff=account.email)
    if codes is None:
        if account.totp_secret is None:  # reset by an admin meanwhile: start again
            return redirect(f"{ACCOUNT}/two-factor", 303)
        error = "That code is not right. Check the phone's time is set automatically, and retry."
        enrolment = mfa.enrolment_of(account, issuer=issuer)
        return await render_enrolment(enrolment, status=422, error=error)
    return await render("admin/account/recovery_codes.html", codes=codes, first=True)


@blueprint.post(f"{ACCOUNT}/recovery-codes")
@staff_required("viewer")
async def new_recovery_codes() -> ResponseReturnValue:
    account = current_staff()
    if not mfa.is_enrolled(account):
        message = "Set up two-factor sign-in first: recovery codes go with it."
        return await account_page(status=422, errors={"codes": message})
    async with db.transaction() as s:
        codes = await mfa.replace_recovery_codes(s, id_of(account))
        await record(s, "staff.recovery_codes_created", staff=account.email)
    return await render("admin/account/recovery_codes.html", codes=codes, first=False)
