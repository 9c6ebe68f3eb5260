"""A vendor's domains: added with the same rules as the CLI, removed while one remains."""

from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from portal import db, settings, vendors
from portal.admin.access import record, staff_required
from portal.admin.pages import done
from portal.admin.vendor_page import render_vendor
from portal.errors import NotFound, PortalError

blueprint = Blueprint("admin_vendor_domains", __name__)


@blueprint.post("/admin/vendors/<key>/domains")
@staff_required()
async def add_domain(key: str) -> ResponseReturnValue:
    text = (await request.form).get("domain", "")[:300]
    try:
        async with db.transaction() as s:
            vendor = await vendors.get_vendor(s, key)
            domain = await vendors.add_domain(
                s, vendor, text, development=settings.current().development
            )
            await record(s, "vendor.domain_added", vendor_key=key, domain=domain)
    except NotFound:
        raise
    except PortalError as exc:
        return await render_vendor(
            key, block="domains", status=422, values={"domain": text}, errors={"domain": str(exc)}
        )
    return await done(
        f"/admin/vendors/{key}#tab-settings",
        f"{domain} added.",
        lambda: render_vendor(key, block="domains"),
    )


@blueprint.post("/admin/vendors/<key>/domains/<domain>/remove")
@staff_required()
async def remove_domain(key: str, domain: str) -> ResponseReturnValue:
    try:
        async with db.transaction() as s:
            vendor = await vendors.get_vendor(s, key)
            await vendors.remove_domain(
                s, vendor, domain, development=settings.current().development
            )
            await record(s, "vendor.domain_removed", vendor_key=key, domain=domain)
    except NotFound:
        raise
    except PortalError as exc:
        return await render_vendor(key, block="domains", status=422, errors={"domains": str(exc)})
    return await done(
        f"/admin/vendors/{key}#tab-settings",
        f"{domain} removed.",
        lambda: render_vendor(key, block="domains"),
    )
