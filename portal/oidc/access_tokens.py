"""Access tokens at UserInfo: what a live one gives (its grant, member, vendor and scope), and
why one gives nothing, for the audit log. Issued and revoked with their grant (grants.py)."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import reasons
from portal.crypto import digest
from portal.models import Member, Vendor
from portal.oidc import grants
from portal.oidc.models import OidcGrant, OidcToken


@dataclass(frozen=True)
class Access:
    grant: OidcGrant
    member: Member
    vendor: Vendor
    scope: str  # what the access token was issued for


async def access(db: AsyncSession, raw: str, *, now: datetime) -> Access | None:
    """What a live access token gives: its grant, member and vendor (all still enabled)."""
    found = (
        await db.exec(
            select(OidcToken, OidcGrant, Member, Vendor)
            .join(OidcGrant, col(OidcGrant.id) == col(OidcToken.grant_id))
            .join(Member, col(Member.id) == col(OidcGrant.member_id))
            .join(Vendor, col(Vendor.id) == col(OidcGrant.vendor_id))
            .where(
                col(OidcToken.token_hash) == digest(raw),
                col(OidcToken.kind) == "access",
                col(OidcToken.expires_at) > now,
                col(Vendor.enabled),
                grants.in_force(now),
            )
        )
    ).first()
    if found is None:
        return None
    token, grant, member, vendor = found
    return Access(grant, member, vendor, token.scope or grant.scope)


@dataclass(frozen=True)
class Refusal:
    """Why an access token was refused, for the audit log."""

    reason: str
    vendor_key: str | None = None
    member_id: int | None = None


async def why_access_failed(db: AsyncSession, raw: str, *, now: datetime) -> Refusal:
    found = await grants.find(db, raw)
    if found is None or found[0].kind != "access":
        return Refusal(reasons.UNKNOWN)
    token, grant = found
    vendor = await db.get(Vendor, grant.vendor_id)
    if grant.revoked_at is not None:
        reason = reasons.REVOKED
    elif token.expires_at is not None and token.expires_at <= now:
        reason = reasons.EXPIRED
    elif not await grants.member_enabled(db, grant):
        reason = reasons.MEMBER_DISABLED
    elif vendor is None or not vendor.enabled:
        reason = reasons.DISABLED
    else:
        reason = reasons.SESSION_ENDED
    return Refusal(reason, vendor.key if vendor else None, grant.member_id)
