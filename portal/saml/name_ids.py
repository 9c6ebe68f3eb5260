"""A member's NameID at a SAML vendor (SAML Core §8.3): persistent is pairwise — opaque, stable
per member and vendor, made with the key of OpenID Connect's pairwise subjects
(portal/pairwise.py), so vendors cannot join their records on it; emailAddress is the member's
address; unspecified their iMIS ID. Sign-in writes it and keeps what it sent for the session
(sign_ins.ISSUE, the statement that records the sign-in), so the portal's own LogoutRequests
name the member as the vendor was told (`sent`); an SP's LogoutRequest is compared with it."""

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import members, pairwise
from portal.claims import member_subject
from portal.models import Member
from portal.saml import names
from portal.saml.models import SamlSessionNameId
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


async def sent(db: AsyncSession, session_id: int, vendor_id: int) -> SamlSessionNameId | None:
    """What `remember` kept; None for a session that reached the vendor before it was kept."""
    return await db.get(SamlSessionNameId, (session_id, vendor_id))


async def as_sent(
    db: AsyncSession,
    *,
    session_id: int,
    vendor_id: int,
    vendor_key: str,
    member_id: int | None,
    nameid_format: str,
    settings: Settings,
) -> tuple[str | None, str]:
    """The NameID (and its format) the session's assertion to the vendor carried, as kept at
    sign-in, for the portal's own LogoutRequests (by SOAP or through the browser); for a session
    from before it was kept, sign-in's rule applied now, in the vendor's `nameid_format`."""
    kept = await sent(db, session_id, vendor_id)
    if kept is not None:
        return kept.name_id, kept.nameid_format
    member = None if member_id is None else await members.select_member_by_id(db, member_id)
    if member is None:
        return None, nameid_format
    return await name_id(db, vendor_key, member, nameid_format, settings=settings), nameid_format
