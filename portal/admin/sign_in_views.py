"""Staff sign-in and sign-out. Staff sessions use their own cookie: a member never gets in."""

from urllib.parse import urlencode

from quart import Blueprint, flash, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, db, device_cookies, reasons, session_cookies, settings, staff
from portal.admin.access import safe_next, staff_of_session
from portal.auth import mfa, throttle
from portal.auth import sign_in as auth_sign_in
from portal.auth.accounts import Account
from portal.auth.sign_in import Attempt
from portal.models import Staff

blueprint = Blueprint("admin_auth", __name__)
TEMPLATE = "admin/auth/sign_in.html"
CODE_TEMPLATE = "admin/auth/second_factor.html"
CODE_PAGE = "/admin/sign-in/code"


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
    code_due: list[bool] = []

    async def start_session(db_session: AsyncSession, account: Account) -> dict[str, str]:
        """The full session, or, for two-factor sign-in, one that waits for the code."""
        row = await staff.select_staff_by_id(db_session, account.id)
        code_due.append(row is not None and mfa.is_enrolled(row))
        await session_cookies.begin(
            db_session, "staff", account.id, awaiting_second_factor=code_due[0]
        )
        return {"second_factor": "due"} if code_due[0] else {}

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
    target = f"{CODE_PAGE}?{urlencode({'next': next_path})}" if code_due[0] else next_path
    return device_cookies.remember(redirect(target, 303), "staff", outcome.account.id)


def throttled_words(verdict: throttle.Verdict, wrong: str) -> tuple[str, int]:
    if verdict.allowed:
        return wrong, 401
    if verdict.locked:
        return "Too many failed attempts. Ask another admin to unlock this account.", 429
    return f"Too many failed attempts. Wait {verdict.wait_in_words()} and retry.", 429


async def refused(email: str, next_path: str, verdict: throttle.Verdict) -> ResponseReturnValue:
    error, status = throttled_words(verdict, "The email or password is not right.")
    page = await render_template(TEMPLATE, email=email, next=next_path, error=error)
    headers = {"Retry-After": str(verdict.retry_after)} if verdict.retry_after else {}
    return page, status, headers


async def awaiting_code(db_session: AsyncSession, *, hold: bool = False) -> Staff | None:
    """The staff member whose password this browser gave and whose code is still due. `hold`
    locks the waiting session's row until the transaction ends: requests of one browser then
    take turns, and once one has turned it into a full session the others find it ended, so
    one password step yields at most one session."""
    row = await session_cookies.current(db_session, "staff")
    if row is None or row.staff_id is None or not row.awaiting_second_factor:
        return None
    if hold:
        await db_session.refresh(row, with_for_update=True)
        if row.ended_at is not None:
            return None
    account = await staff.select_staff_by_id(db_session, row.staff_id)
    return account if account is not None and account.enabled else None


@blueprint.get(CODE_PAGE)
async def second_factor_page() -> ResponseReturnValue:
    next_path = safe_next(request.args.get("next"))
    async with db.transaction() as db_session:
        account = await awaiting_code(db_session)
    if account is None:
        return redirect(f"/admin/sign-in?{urlencode({'next': next_path})}", 303)
    return await render_template(CODE_TEMPLATE, next=next_path, error=None)


@blueprint.post(CODE_PAGE)
async def second_factor() -> ResponseReturnValue:
    form = await request.form
    code, next_path = form.get("code", "")[:64], safe_next(form.get("next"))
    policy = throttle.Policy.from_settings(settings.current())
    async with db.transaction() as db_session:
        account = await awaiting_code(db_session, hold=True)
        if account is None:
            error = "Your sign-in waited too long for the code, or has ended. Sign in again."
            page = await render_template(TEMPLATE, email="", next=next_path, error=error)
            return page, 401
        result = await mfa.check(db_session, account, code, now=clock.now(), policy=policy)
        await record_second_factor(db_session, account, result)
        if result.accepted:
            # A new session under a new id; the waiting one ends with it.
            await session_cookies.begin(db_session, "staff", account.id or 0)
    if not result.accepted:
        error, status = throttled_words(result.verdict, "That code is not right, or was used.")
        page = await render_template(CODE_TEMPLATE, next=next_path, error=error)
        headers = {"Retry-After": str(result.verdict.retry_after)} if status == 429 else {}
        return page, status, headers
    if result.used_recovery_code:
        left = result.recovery_codes_left
        await flash(
            f"You signed in with a recovery code; {left} left. Make new ones on Your account.",
            "warning",
        )
    return redirect(next_path, 303)


async def record_second_factor(db_session: AsyncSession, account: Staff, result: mfa.Check) -> None:
    if not result.verdict.allowed:
        # Refused unchecked: recorded within the per-network budget, as throttled sign-ins
        # are, so that someone who has the password cannot grow the audit log without limit.
        await audit.record_anonymous(
            db_session, "staff.second_factor", now=clock.now(), reason=reasons.THROTTLED,
            client_address=request.remote_addr, staff_email=account.email,
        )  # fmt: skip
        return
    details: dict[str, object] = (
        {"method": "recovery_code" if result.used_recovery_code else "app"}
        if result.accepted
        else {"reason": "wrong_code"}
    )
    if result.used_recovery_code:
        details["recovery_codes_left"] = result.recovery_codes_left
    await audit.record(
        db_session,
        "staff.second_factor",
        "success" if result.accepted else "failure",
        staff_email=account.email,
        client_address=request.remote_addr,
        **details,
    )


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
