"""Returned fields: which catalogue fields a vendor receives, in which order, under which
names; and the live preview of the JSON it would receive."""

from urllib.parse import urlencode

from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from portal import audit, db, vendor_rules, vendors
from portal.admin.access import is_htmx, record, staff_required
from portal.admin.pages import done
from portal.admin.vendor_page import read_draft, render_vendor
from portal.errors import NotFound, PortalError

blueprint = Blueprint("admin_vendor_fields", __name__)
NOT_SAVED_YET = "New order not saved yet: Save fields to keep it."


@blueprint.post("/admin/vendors/<key>/fields")
@staff_required()
async def save_fields(key: str) -> ResponseReturnValue:
    form = await request.form
    draft = read_draft(form)
    member = form.get("member", "")
    if form.get("move"):  # ↑/↓ rearrange the form only: nothing is saved until "Save fields"
        return await render_vendor(
            key, block="fields", draft=draft, member=member, fields_status=NOT_SAVED_YET
        )
    try:
        async with db.transaction() as s:
            vendor = await vendors.get_vendor(s, key)
            before = vendor_rules.field_specs(await vendors.select_fields(s, vendor))
            await vendors.replace_fields(s, vendor, draft.choices)
            after = vendor_rules.field_specs(draft.choices)
            if before != after:
                changed = audit.changes({"fields": before}, {"fields": after})
                await record(s, "vendor.fields_changed", vendor_key=key, changes=changed)
    except NotFound:
        raise
    except PortalError as exc:
        return await render_vendor(
            key, block="fields", status=422, draft=draft, member=member, errors={"fields": str(exc)}
        )
    message = "Returned fields saved." if before != after else "Returned fields unchanged."
    if is_htmx():  # the confirmation beside the button pressed, not at the top of the page
        return await render_vendor(key, block="fields", member=member, fields_status=message)
    page = (
        f"/admin/vendors/{key}?{urlencode({'member': member})}"
        if member
        else f"/admin/vendors/{key}"
    )
    return await done(f"{page}#tab-fields", message)


@blueprint.get("/admin/vendors/<key>/preview")
@staff_required()
async def preview(key: str) -> ResponseReturnValue:
    """With the fields form's values (htmx sends them on every change, or the "Preview" button
    without script): the JSON for the unsaved selection; without them, for the saved one."""
    draft = read_draft(request.args) if "order" in request.args else None
    member = request.args.get("member", "")
    return await render_vendor(key, block="preview", draft=draft, member=member)
