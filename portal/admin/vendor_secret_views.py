"""A vendor's API secrets: generated (shown once), at most two active, revoked."""

from quart import Blueprint
from quart.typing import ResponseReturnValue

from portal import db, vendor_secrets, vendors
from portal.admin.access import record, staff_required
from portal.admin.pages import done
from portal.admin.vendor_page import render_vendor
from portal.errors import Conflict

blueprint = Blueprint("admin_vendor_secrets", __name__)


@blueprint.post("/admin/vendors/<key>/secrets")
@staff_required()
async def generate(key: str) -> ResponseReturnValue:
    """The answer is the only place the secret ever appears: no redirect, and like every
    answer of the portal, never kept by the browser (portal.security)."""
    try:
        async with db.transaction() as s:
            vendor = await vendors.get_vendor(s, key)
            secret = await vendor_secrets.create(s, vendor)
            active = await vendor_secrets.select_active(s, vendor)
            await record(s, "vendor.secret_created", vendor_key=key, active=len(active))
    except Conflict as exc:
        return await render_vendor(key, block="secrets", status=422, errors={"secrets": str(exc)})
    return await render_vendor(key, block="secrets", status=201, new_secret=secret)


@blueprint.post("/admin/vendors/<key>/secrets/<id:secret_id>/revoke")
@staff_required()
async def revoke(key: str, secret_id: int) -> ResponseReturnValue:
    async with db.transaction() as s:
        vendor = await vendors.get_vendor(s, key)
        await vendor_secrets.revoke(s, vendor, secret_id)
        await record(s, "vendor.secret_revoked", vendor_key=key, credential_id=secret_id)
    return await done(
        f"/admin/vendors/{key}#tab-secrets",
        "Secret revoked. Calls that use it are refused from now on.",
        lambda: render_vendor(key, block="secrets"),
    )
