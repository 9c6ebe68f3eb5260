"""A vendor's sign-in method: which registered front end signs its members in, and each front
end's own settings of it (portal/sign_in_methods.py; the fields are each front end's, read
through its registration: portal/front_ends.py's `SettingsForm`)."""

from typing import Any

from quart import Blueprint, request
from quart.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from portal import audit, clock, db, front_ends, settings, sign_in_methods, vendors
from portal.admin.access import record, staff_required
from portal.admin.pages import done
from portal.admin.vendor_page import render_vendor
from portal.errors import InvalidField

blueprint = Blueprint("admin_vendor_protocol", __name__)


def read(form: MultiDict[str, str]) -> dict[str, Any]:
    """The form as submitted: the chosen front end and every front end's own fields (shown
    again when it is refused)."""
    values: dict[str, Any] = {"protocol": form.get("protocol", "")[:20]}
    for front_end in front_ends.registered():
        values |= front_end.settings_form.read(form)
    return values


@blueprint.post("/admin/vendors/<key>/sign-in-method")
@staff_required()
async def save_sign_in_method(key: str) -> ResponseReturnValue:
    values = read(await request.form)
    try:
        async with db.transaction() as s:
            vendor = await vendors.get_vendor(s, key)
            before = await sign_in_methods.save(
                s,
                vendor,
                values,
                development=settings.current().development,
                now=clock.now(),
            )
            after = await sign_in_methods.settings_of(s, vendor)
            changed = audit.changes(before, after)
            if changed:
                await record(s, "vendor.updated", vendor_key=key, changes=changed)
    except InvalidField as exc:
        return await render_vendor(
            key,
            block="protocol",
            status=422,
            method_values=values,
            errors={exc.field: str(exc)},
        )
    message = "Sign-in method saved." if changed else "Nothing to change."
    return await done(
        f"/admin/vendors/{key}", message, lambda: render_vendor(key, block="protocol")
    )
