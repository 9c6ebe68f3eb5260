"""The dashboard's error pages: a 403 or a 404 under /admin keeps the dashboard around it (its
navigation, a way back) and says what happened in staff terms. Outside /admin the member-facing
error page stays (portal/errors.py)."""

import logging
from typing import cast

from quart import Blueprint, Quart, g, render_template, request
from quart.blueprints import BlueprintSetupState
from quart.typing import ResponseReturnValue

from portal import db, errors
from portal.admin.access import staff_of_session
from portal.models import Staff

log = logging.getLogger(__name__)
blueprint = Blueprint("admin_errors", __name__)

# The dashboard's sections: the first part of the path after /admin → (one of them, the list).
SECTIONS = {
    "vendors": ("vendor", "/admin/vendors", "Go to the vendors list"),
    "members": ("member", "/admin/members", "Go to the members list"),
    "sessions": ("session", "/admin/sessions", "Go to the sessions list"),
    "audit": ("audit event", "/admin/audit", "Go to the audit log"),
    "staff": ("staff account", "/admin/staff", "Go to the staff list"),
}
NOT_FOUND = (
    "There is no {thing} at this address. It may have been removed, or the link is mistyped or "
    "out of date."
)


def section() -> tuple[str, str, str] | None:
    first = request.path.removeprefix("/admin").strip("/").split("/", 1)[0]
    return SECTIONS.get(first.removesuffix(".csv"))


async def signed_in_staff() -> Staff | None:
    """Who is looking: the guard has already said so for a refused request; for an address no
    route answers, the staff cookie. Never a second failure: no database, no navigation."""
    if g.get("staff") is not None:
        known: Staff = g.staff
        return known
    try:
        async with db.transaction() as s:
            return await staff_of_session(s)
    except Exception:  # the page about one error must not fail on another (a database down)
        log.warning("no staff account for the error page", exc_info=True)
        return None


async def error_page(status: int, title: str, message: str) -> ResponseReturnValue:
    staff = await signed_in_staff()
    where = section()
    if status == 404:
        message = NOT_FOUND.format(thing=where[0] if where else "dashboard page")
    page = await render_template(
        "admin/error.html",
        status=status,
        title=title,
        message=message,
        staff=staff,
        section=where,
    )
    return page, status


def register(state: BlueprintSetupState) -> None:
    errors.register_error_page(cast(Quart, state.app), "/admin", error_page)


blueprint.record_once(register)
