"""An OpenID Connect vendor's registered redirect URIs, stored and read (the settings that check
them: portal/oidc/registration.py)."""

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.models import Vendor, VendorRedirectUri, id_of


async def select_redirect_uris(db: AsyncSession, vendor: Vendor, kind: str) -> list[str]:
    """An OpenID Connect vendor's registered redirect URIs of `kind` ("login" or
    "post_logout"), in the order registered."""
    query = select(VendorRedirectUri.uri).where(
        VendorRedirectUri.vendor_id == vendor.id, VendorRedirectUri.kind == kind
    )
    return list(await db.exec(query.order_by(col(VendorRedirectUri.id))))


async def set_redirect_uris(
    db: AsyncSession, vendor: Vendor, kind: str, uris: Sequence[str]
) -> None:
    """Replace the vendor's `kind` redirect URIs with `uris` (checked by the caller)."""
    await db.exec(
        delete(VendorRedirectUri).where(
            col(VendorRedirectUri.vendor_id) == vendor.id, col(VendorRedirectUri.kind) == kind
        )
    )
    unique = dict.fromkeys(uris)
    db.add_all(VendorRedirectUri(vendor_id=id_of(vendor), kind=kind, uri=uri) for uri in unique)
    await db.flush()
