"""What the OpenID Connect front end holds about a member, for their own download (the
registration's `member_data`, portal/member_data.py): each grant a site was given — which site,
what it may read, when, and whether it still holds it — never a code, a token or their hashes."""

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.models import Vendor
from portal.oidc.models import OidcGrant

MAX_GRANTS = 1000  # a bounded answer; a member has a handful


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def grants_of(db: AsyncSession, member_id: int) -> dict[str, list[dict[str, Any]]]:
    query = (
        select(OidcGrant, Vendor)
        .join(Vendor, col(Vendor.id) == col(OidcGrant.vendor_id))
        .where(col(OidcGrant.member_id) == member_id)
        .order_by(col(OidcGrant.id).desc())
        .limit(MAX_GRANTS)
    )
    grants = [
        {
            "site": vendor.name,
            "scope": grant.scope,
            "granted_at": _when(grant.created_at),
            "collected_at": _when(grant.code_redeemed_at),
            "kept_signed_in_while_away": grant.offline,
            "withdrawn_at": _when(grant.revoked_at),
        }
        for grant, vendor in await db.exec(query)
    ]
    return {"openid_connect_grants": grants}
