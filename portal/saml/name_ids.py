"""A member's NameID at a SAML vendor (SAML Core §8.3): persistent is pairwise — opaque, stable
per member and vendor, made with the key of OpenID Connect's pairwise subjects
(portal/pairwise.py), so vendors cannot join their records on it; emailAddress is the member's
address; unspecified their iMIS ID. Sign-in writes it, single logout compares it."""

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import pairwise
from portal.claims import member_subject
from portal.models import Member
from portal.saml import names
from portal.settings import Settings


async def name_id(
    db: AsyncSession, vendor_key: str, member: Member, nameid_format: str, *, settings: Settings
) -> str | None:
    """The member's NameID in `nameid_format` (a URI) at the vendor; None when the member has
    no value for it (no email address)."""
    if nameid_format == names.EMAIL:
        return member.email
    if nameid_format == names.UNSPECIFIED:
        return member.imis_id
    key = await pairwise.key_for(db, True, settings=settings)
    return member_subject(vendor_key, True, member.imis_id, key)
