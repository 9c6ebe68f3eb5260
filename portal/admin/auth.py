"""Staff sign-in and sign-out. Staff sessions use their own cookie: a member never gets in."""

from quart import Blueprint, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, db, staff, throttle
from portal.admin.access import safe_next, session_policy, settings, staff_of_session
from portal.models import Staff, id_of
from portal.passwords import verify_password
from portal.sso import sessions

blueprint = Blueprint("admin_auth", __name__)
TEMPLATE = "admin/auth/sign_in.html"


@blueprint.get("/admin/sign-in")
async def sign_in_page() -> ResponseReturnValue:
    next_path = safe_next(request.args.get("next"))
    async with db.session() as db_session:
        signed_in = await staff_of_session(db_session) is not None
    if signed_in:
        return redirect(next_path, 303)
    return await render_template(TEMPLATE, email="", next=next_path, error=None)


@blueprint.post("/admin/sign-in")
async def sign_in() -> ResponseReturnValue:
    form = await request.form
    email = form.get("email", "").strip().lower()[:254]
    password, next_path = form.get("password", ""), safe_next(form.get("next"))
    async with db.session() as db_session:
        account = await staff.select_staff_by_email(db_session, email) if email else None
        verdict, ok = await attempt(db_session, email, password, account)
        if ok and account is not None:
            await start_session(db_session, account)
    if ok:
        return redirect(next_path, 303)
    return await refused(email, next_path, verdict)


async def attempt(
    db_session: AsyncSession, email: str, password: str, account: Staff | None
) -> tuple[throttle.Verdict, bool]:
    """Throttled exactly like member sign-ins: unknown, disabled and wrong all cost the same."""
    key = f"staff:{account.id}" if account else f"staff-login:{email}"
    password_hash = account.password_hash if account is not None and account.enabled else None
    verdict, verified = await throttle.guarded(
        db_session,
        key,
        request.remote_addr or "unknown",
        verify=lambda: verify_password(password_hash, password),
        now=clock.now(),
        policy=throttle.Policy.from_settings(settings()),
    )
    ok = bool(verified)
    reason = None
    if not ok:
        reason = "throttled" if not verdict.allowed else failure_reason(account)
    await audit.record(
        db_session,
        "staff.sign_in",
        "success" if ok else "failure",
        staff_email=email or None,
        client_address=request.remote_addr,
        reason=reason,
    )
    return verdict, ok


def failure_reason(account: Staff | None) -> str:
    if account is None:
        return "unknown_user"
    return "disabled" if not account.enabled else "wrong_password"


async def start_session(db_session: AsyncSession, account: Staff) -> None:
    now = clock.now()
    previous = await sessions.current(db_session, "staff", now=now, policy=session_policy())
    if previous is not None:  # a new session id at every sign-in
        await sessions.end(db_session, previous, now=now, reason="replaced")
    await sessions.start(db_session, "staff", id_of(account), now=now, policy=session_policy())
    account.last_sign_in_at = now
    db_session.add(account)


async def refused(email: str, next_path: str, verdict: throttle.Verdict) -> ResponseReturnValue:
    if verdict.allowed:
        error, status = "The email or password is not right.", 401
    elif verdict.locked:
        error, status = "Too many failed attempts. Ask another admin to unlock this account.", 429
    else:
        minutes = max(1, -(-verdict.retry_after // 60))
        error = f"Too many failed attempts. Wait {minutes} minute{'s' * (minutes > 1)} and retry."
        status = 429
    page = await render_template(TEMPLATE, email=email, next=next_path, error=error)
    headers = {"Retry-After": str(verdict.retry_after)} if verdict.retry_after else {}
    return page, status, headers


@blueprint.post("/admin/sign-out")
async def sign_out() -> ResponseReturnValue:
    async with db.session() as db_session:
        now = clock.now()
        row = await sessions.current(db_session, "staff", now=now, policy=session_policy())
        if row is not None and row.staff_id is not None:
            account = await db_session.get(Staff, row.staff_id)
            await sessions.end(db_session, row, now=now, reason="sign_out")
            await audit.record(
                db_session,
                "staff.sign_out",
                staff_email=account.email if account else None,
                client_address=request.remote_addr,
            )
    sessions.forget_cookie("staff")
    return redirect("/admin/sign-in", 303)
