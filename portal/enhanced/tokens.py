"""One-time SSO tokens (protocol.md §3): issue, redeem exactly once, void."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.auth import sessions
from portal.crypto import digest, new_secret
from portal.models import AuthSession, SsoToken, Vendor, id_of

# new_secret() gives 43 URL-safe characters; anything else was never issued by us.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


async def issue(
    db: AsyncSession, vendor: Vendor, session: AuthSession, *, now: datetime, ttl: timedelta
) -> str:
    """A token bound to this vendor, member and portal session; only its hash is stored."""
    if session.member_id is None:
        raise ValueError("tokens come only from member sessions")
    raw = new_secret()
    db.add(
        SsoToken(
            token_hash=digest(raw),
            vendor_id=id_of(vendor),
            member_id=session.member_id,
            session_id=id_of(session),
            issued_at=now,
            expires_at=now + ttl,
        )
    )
    await db.flush()
    return raw


@dataclass(frozen=True)
class Redemption:
    """member_id on success; otherwise reason (kept internal: the vendor sees one answer)."""

    member_id: int | None = None
    reason: str | None = None
    session_id: int | None = None


def well_formed(raw: str) -> bool:
    return TOKEN_PATTERN.fullmatch(raw) is not None


async def redeem(db: AsyncSession, raw: str, vendor: Vendor, *, now: datetime) -> Redemption:
    """Redeem once. One conditional UPDATE decides, so of any number of concurrent attempts, on
    any number of processes, exactly one sees its row come back."""
    token_hash = digest(raw)
    won = await db.exec(
        update(SsoToken)
        .where(
            col(SsoToken.token_hash) == token_hash,
            col(SsoToken.vendor_id) == vendor.id,
            col(SsoToken.redeemed_at).is_(None),
            col(SsoToken.voided_at).is_(None),
            col(SsoToken.expires_at) > now,
        )
        .values(redeemed_at=now)
        .returning(col(SsoToken.member_id), col(SsoToken.session_id))
    )
    row = won.first()
    if row is not None:
        return Redemption(member_id=row[0], session_id=row[1])
    return await _why_not(db, token_hash, vendor, now=now)


async def _why_not(
    db: AsyncSession, token_hash: str, vendor: Vendor, *, now: datetime
) -> Redemption:
    token = (await db.exec(select(SsoToken).where(SsoToken.token_hash == token_hash))).first()
    if token is None:
        return Redemption(reason="unknown")
    if token.vendor_id != vendor.id:
        return Redemption(reason="other_vendor", session_id=token.session_id)
    if token.redeemed_at is not None:
        await _revoke_what_it_released(db, token, now=now)
        return Redemption(reason="replay", session_id=token.session_id)
    if token.voided_at is not None:
        return Redemption(reason="voided", session_id=token.session_id)
    return Redemption(reason="expired", session_id=token.session_id)


async def _revoke_what_it_released(db: AsyncSession, token: SsoToken, *, now: datetime) -> None:
    """A replayed token means it leaked (RFC 9700 §4.5): end the portal session it came from."""
    session = await db.get(AuthSession, token.session_id)
    if session is not None and session.ended_at is None:
        await sessions.end(db, session, now=now, reason="token_replay")
