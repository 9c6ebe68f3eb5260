"""Staff sign-in and sign-out. Staff sessions use their own cookie: a member never gets in."""

from quart import Blueprint, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, db, device_cookies, session_cookies, settings, staff
from portal.admin.access import safe_next, staff_of_session
from portal.auth import sign_in as auth_sign_in
from portal.auth import throttle
from portal.auth.accounts import Account
from portal.auth.sign_in import Attempt

blueprint = Blueprint("admin_auth", __name__)
TEMPLATE = "admin/auth/sign_in.html"


@blueprint.get("/admin/sign-in")
async def sign_in_page() -> ResponseReturnValue:
    next_path = safe_next(request.args.get("next"))
    async with db.transaction() as db_session:
        signed_in = await staff_of_session(db_session) is not None
    if signed_in:
        return redirect(next_path, 303)
    return await render_template(TEMPLATE, email="", next=next_path, error=None)


@blueprint.post("/admin/sign-in")
async def sign_in() -> ResponseReturnValue:
    form = await request.form
    email = form.get("email", "").strip().lower()[:254]
    password, next_path = form.get("password", ""), safe_next(form.get("next"))
    outcome = await auth_sign_in.sign_in(
        db.transaction,
        staff.StaffDirectory(),
        Attempt(email, password, request.remote_addr, device_cookies.presented("staff")),
        now=clock.now(),
        policy=throttle.Policy.from_settings(settings.current()),
        on_success=start_session,
    )
    if outcome.account is None:
        return await refused(email, next_path, outcome.verdict)
    return device_cookies.remember(redirect(next_path, 303), "staff", outcome.account.id)


async def start_session(db_session: AsyncSession, account: Account) -> None:
    await session_cookies.begin(db_session, "staff", account.id)


async def refused(email: str, next_path: str, verdict: throttle.Verdict) -> ResponseReturnValue:
    if verdict.allowed:
        error, status = "The email or password is not right.", 401
    elif verdict.locked:
        error, status = "Too many failed attempts. Ask another admin to unlock this account.", 429
    else:
        error = f"Too many failed attempts. Wait {verdict.wait_in_words()} and retry."
        status = 429
    page = await render_template(TEMPLATE, email=email, next=next_path, error=error)
    headers = {"Retry-After": str(verdict.retry_after)} if verdict.retry_after else {}
    return page, status, headers


@blueprint.post("/admin/sign-out")
async def sign_out() -> ResponseReturnValue:
    async with db.transaction() as db_session:
        row = await session_cookies.end(db_session, "staff", reason="sign_out")
        if row is not None and row.staff_id is not None:
            account = await staff.select_staff_by_id(db_session, row.staff_id)
            await audit.record(
                db_session,
                "staff.sign_out",
                staff_email=account.email if account else None,
                client_address=request.remote_addr,
            )
    return redirect("/admin/sign-in", 303)
