"""Who may use the dashboard: a live staff session, and the role the request needs.

Reads need `viewer`, anything that changes state needs `admin`; the role is inferred from the
HTTP method so that no state-changing route can forget to ask for it."""

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec
from urllib.parse import quote

from quart import g, make_response, redirect, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, db, session_cookies, settings, staff
from portal.audit_models import AuditEvent
from portal.auth import mfa, sessions
from portal.errors import PortalError, error_response
from portal.models import Staff
from portal.security import UNSAFE_METHODS

P = ParamSpec("P")
SIGN_IN = "/admin/sign-in"


async def staff_of_session(db_session: AsyncSession) -> Staff | None:
    """The staff account behind this request's staff cookie, if its session is live. A member
    session never counts, and a disabled account's session is ended on sight. A sign-in still
    waiting for its two-factor code counts as none: a cookie stolen between the password and
    the code opens nothing."""
    row = await session_cookies.current(db_session, "staff")
    if row is None or row.staff_id is None or row.awaiting_second_factor:
        return None
    account = await staff.select_staff_by_id(db_session, row.staff_id)
    if account is None or not account.enabled:
        await sessions.end(db_session, row, now=clock.now(), reason="staff_disabled")
        return None
    return account


VIEWER_CAN = "As a viewer you can see the overview, vendors, members, sessions and the audit log"


class AdminOnly(PortalError):
    """A viewer asked for what only admins may do: said in a viewer's terms. Someone who only
    opened a page is told what it is for, not that they tried to change something."""

    status = 403

    def __init__(self, *, changing: bool) -> None:
        if changing:
            self.title = "Only admins can make changes"
            message = f"Nothing was changed. {VIEWER_CAN}; ask an admin to make this change."
        else:
            self.title = "Only admins can open this page"
            message = f"{VIEWER_CAN}. Ask an admin if something on this page needs doing."
        super().__init__(message)


def staff_required(
    role: str | None = None, *, enrolling: bool = False
) -> Callable[
    [Callable[P, Awaitable[ResponseReturnValue]]], Callable[P, Awaitable[ResponseReturnValue]]
]:
    """Guard a dashboard view. role=None: `viewer` for GET, `admin` for state-changing methods;
    role="admin": admin for every method (the staff pages); role="viewer": any staff member,
    for every method (their own account). Where two-factor sign-in is required and not set up
    yet, only the pages that set it up (`enrolling`) open."""

    def decorate(
        view: Callable[P, Awaitable[ResponseReturnValue]],
    ) -> Callable[P, Awaitable[ResponseReturnValue]]:
        @wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            async with db.transaction() as db_session:
                account = await staff_of_session(db_session)
            if account is None:
                return await not_signed_in()
            needed = role or ("admin" if request.method in UNSAFE_METHODS else "viewer")
            g.staff = account  # before a refusal too: its error page shows this staff member's menu
            required = settings.current().staff_mfa == "required"
            if not enrolling and mfa.enrolment_due(account, required=required):
                return await enrolment_first()
            if needed == "admin" and account.role != "admin":
                raise AdminOnly(changing=request.method in UNSAFE_METHODS)
            return await view(*args, **kwargs)

        return guarded

    return decorate


async def not_signed_in() -> ResponseReturnValue:
    """Pages send the browser to the sign-in page (and back afterwards); actions get a 401, and
    htmx is told to load the sign-in page instead of swapping an error into the page."""
    target = f"{SIGN_IN}?next={quote(request.full_path.rstrip('?'), safe='/')}"
    if request.method in UNSAFE_METHODS:
        response = await make_response(
            await error_response(401, "Your staff session has ended. Sign in again.")
        )
        if is_htmx():
            response.headers["HX-Redirect"] = SIGN_IN
        return response
    if is_htmx():
        return "", 401, {"HX-Redirect": target}
    return redirect(target, 303)


ENROL = "/admin/account/two-factor"


class EnrolmentFirst(PortalError):
    status = 403
    title = "Set up two-factor sign-in first"

    def __init__(self) -> None:
        super().__init__(
            "Nothing was changed. Admins must set up two-factor sign-in before using the "
            f"dashboard: open {ENROL}."
        )


async def enrolment_first() -> ResponseReturnValue:
    """An admin who must set up two-factor sign-in is sent to do it; an action is refused."""
    if request.method in UNSAFE_METHODS:
        raise EnrolmentFirst()
    if is_htmx():
        return "", 403, {"HX-Redirect": ENROL}
    return redirect(ENROL, 303)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def current_staff() -> Staff:
    account: Staff = g.staff
    return account


def actor() -> audit.Actor:
    """The signed-in staff member, as the audit log records who made a change."""
    return audit.Actor(staff_email=current_staff().email, client_address=request.remote_addr)


async def record(
    db_session: AsyncSession, event: str, outcome: str = "success", **details: Any
) -> AuditEvent:
    """An audit event for a change made (or, with outcome "failure", refused) by the signed-in
    staff member."""
    return await audit.record(db_session, event, outcome, **actor().fields(), **details)


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a dashboard path we recognise, never another site."""
    if (
        path
        and path.startswith("/admin")
        and path.isascii()
        and path.isprintable()
        and "//" not in path
        and "\\" not in path
        and len(path) <= 2000
    ):
        return path
    return "/admin/"
