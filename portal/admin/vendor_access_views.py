"""Who may use a vendor's site (its access rule, portal/access_rules.py): the form that changes
it, audited as `vendor.access_changed`, and its live preview for the rule as chosen, not yet
saved — how many members it lets in, whether one member would get in."""

from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from portal import clock, db, vendor_access, vendors
from portal.admin import vendor_access_page
from portal.admin.access import is_htmx, record, staff_required
from portal.admin.pages import done
from portal.admin.vendor_page import render_vendor

blueprint = Blueprint("admin_vendor_access", __name__)
# A refused form comes back with its reason beside the field, as every dashboard form does (422);
# a preview asked for with a value no form offers is a request that cannot be used (400).
REFUSED_FORM, BAD_PREVIEW = 422, 400


# Changing who may use a site is a change like any other: staff_required() asks a POST for the
# admin role, so a viewer's attempt is refused before anything is read.
@blueprint.post("/admin/vendors/<key>/access")
@staff_required()
async def save_access(key: str) -> ResponseReturnValue:
    form = await request.form
    draft = vendor_access_page.read(form)
    who = form.get("access_member", "")
    if draft.rule is None:
        return await render_vendor(
            key, block="access", status=REFUSED_FORM, access=draft, access_member=who
        )
    async with db.transaction() as s:
        vendor = await vendors.get_vendor(s, key)
        changed = vendor_access.change(vendor, draft.rule, now=clock.now())
        if changed:
            await record(s, vendor_access.EVENT, vendor_key=key, changes=changed)
    message = "Who may use the site saved." if changed else "Who may use the site unchanged."
    if is_htmx():  # the confirmation beside the button pressed
        return await render_vendor(key, block="access", access_member=who, access_status=message)
    return await done(f"/admin/vendors/{key}#tab-access", message)


@blueprint.get("/admin/vendors/<key>/access/preview")
@staff_required()
async def preview_access(key: str) -> ResponseReturnValue:
    """With the form's values (htmx sends them on every change): the rule as chosen; without
    them, the saved one. `access_member` is the member to check."""
    draft = vendor_access_page.read(request.args) if "access" in request.args else None
    return await render_vendor(
        key,
        block="access_preview",
        status=BAD_PREVIEW if draft and draft.rule is None else 200,
        access=draft,
        access_member=request.args.get("access_member", ""),
    )
