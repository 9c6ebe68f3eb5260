"""Staff accounts (admins only, reading included): add, change role, disable, enable."""

from typing import Any

from quart import Blueprint, Response, request
from quart.typing import ResponseReturnValue

from portal import audit, clock, db, settings, staff
from portal.admin.access import actor, current_staff, record, staff_required
from portal.admin.pages import done, render
from portal.auth import mfa, throttle
from portal.errors import Conflict, InvalidField, NotFound, PortalError
from portal.models import ROLES, id_of

blueprint = Blueprint("admin_staff", __name__)


async def staff_page(*, status: int = 200, **extra: Any) -> Response:
    async with db.transaction() as s:
        accounts = await staff.select_all_staff(s)
        locks = await throttle.account_states(
            s,
            {id_of(a): staff.throttle_keys(a) for a in accounts},
            now=clock.now(),
            policy=throttle.Policy.from_settings(settings.current()),
        )
    context = {
        "accounts": accounts,
        "locks": locks,
        "roles": ROLES,
        "values": {},
        "errors": {},
        **extra,
    }
    return await render("admin/staff/list.html", block="accounts", status=status, **context)


@blueprint.get("/admin/staff")
@staff_required("admin")
async def staff_list() -> ResponseReturnValue:
    return await staff_page()


@blueprint.post("/admin/staff")
@staff_required("admin")
async def add_staff() -> ResponseReturnValue:
    form = await request.form
    values = {"email": form.get("email", "").strip()[:254], "role": form.get("role", "")}
    try:
        async with db.transaction() as s:
            account = await staff.add_staff(
                s, values["email"], values["role"], form.get("password", "")
            )
            changed = audit.changes({}, {"email": account.email, "role": account.role})
            await record(s, "staff.created", staff=account.email, changes=changed)
    except InvalidField as exc:
        return await staff_page(status=422, values=values, errors={exc.field: str(exc)})
    return await done(
        "/admin/staff", f"{account.email} can now sign in as {account.role}.", staff_page
    )


def refuse_self(staff_id: int) -> None:
    if staff_id == current_staff().id:
        raise Conflict("You cannot change your own account here; ask another admin.")


@blueprint.post("/admin/staff/<id:staff_id>/role")
@staff_required("admin")
async def change_role(staff_id: int) -> ResponseReturnValue:
    role = (await request.form).get("role", "")
    try:
        refuse_self(staff_id)
        async with db.transaction() as s:
            account = await staff.get_staff(s, staff_id)
            before = await staff.change_role(s, account, role, now=clock.now())
            if before != account.role:
                changed = audit.changes({"role": before}, {"role": account.role})
                await record(s, "staff.role_changed", staff=account.email, changes=changed)
    except NotFound:
        raise
    except PortalError as exc:
        return await staff_page(status=422, errors={f"row-{staff_id}": str(exc)})
    return await done("/admin/staff", f"{account.email} is now {account.role}.", staff_page)


async def set_enabled(staff_id: int, enabled: bool) -> ResponseReturnValue:
    try:
        refuse_self(staff_id)
        async with db.transaction() as s:
            account = await staff.get_staff(s, staff_id)
            switch = staff.enable if enabled else staff.disable
            await switch(s, account, now=clock.now(), by=actor())
    except NotFound:
        raise
    except PortalError as exc:
        return await staff_page(status=422, errors={f"row-{staff_id}": str(exc)})
    message = f"{account.email} is {'enabled' if enabled else 'disabled and signed out'}."
    return await done("/admin/staff", message, staff_page)


@blueprint.post("/admin/staff/<id:staff_id>/disable")
@staff_required("admin")
async def disable(staff_id: int) -> ResponseReturnValue:
    return await set_enabled(staff_id, False)


@blueprint.post("/admin/staff/<id:staff_id>/enable")
@staff_required("admin")
async def enable(staff_id: int) -> ResponseReturnValue:
    return await set_enabled(staff_id, True)


@blueprint.post("/admin/staff/<id:staff_id>/reset-two-factor")
@staff_required("admin")
async def reset_two_factor(staff_id: int) -> ResponseReturnValue:
    """For a lost phone: the staff member signs in with the password alone next time (or is
    asked to set it up again, where it is required)."""
    try:
        refuse_self(staff_id)
    except Conflict as exc:
        return await staff_page(status=422, errors={f"row-{staff_id}": str(exc)})
    async with db.transaction() as s:
        account = await staff.get_staff(s, staff_id)
        was_on = await mfa.reset(s, account, now=clock.now())
        await record(s, "staff.mfa_reset", staff=account.email, was_on=was_on)
    message = f"{account.email} signs in without a code until they set up two-factor again."
    return await done("/admin/staff", message, staff_page)


@blueprint.post("/admin/staff/<id:staff_id>/unlock")
@staff_required("admin")
async def unlock(staff_id: int) -> ResponseReturnValue:
    async with db.transaction() as s:
        account = await staff.get_staff(s, staff_id)
        await staff.unlock(s, account)
        await record(s, "staff.unlocked", staff=account.email)
    return await done("/admin/staff", f"{account.email} can sign in again.", staff_page)
