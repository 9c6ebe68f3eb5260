"""Authorization codes and the tokens they start (RFC 6749 §4.1, §6; RFC 9700 §2.2.2, §4.14).

A grant is one authorization: its code, then a family of access and refresh tokens. Every
secret is 256 random bits and only its hash is stored. Single use is one conditional UPDATE —
of any number of concurrent redemptions of a code, or uses of a refresh token, exactly one sees
its row come back — and a second use revokes the whole family (the grant's `revoked_at`, which
every token's check reads). Every token also ends with the portal session it came from."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, exists, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.auth import sessions
from portal.crypto import digest, new_secret
from portal.models import AuthSession, Member, OidcGrant, OidcToken, Vendor, id_of

CODE_TTL = timedelta(seconds=60)  # RFC 6749 §4.1.2: ten minutes at most; one is plenty


@dataclass(frozen=True)
class NewGrant:
    vendor_id: int
    member_id: int
    session_id: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    auth_time: datetime


async def issue_code(db: AsyncSession, new: NewGrant, *, now: datetime) -> str:
    raw = new_secret()
    db.add(
        OidcGrant(
            code_hash=digest(raw),
            vendor_id=new.vendor_id,
            member_id=new.member_id,
            session_id=new.session_id,
            redirect_uri=new.redirect_uri,
            scope=new.scope,
            nonce=new.nonce,
            code_challenge=new.code_challenge,
            auth_time=new.auth_time,
            created_at=now,
            code_expires_at=now + CODE_TTL,
        )
    )
    await db.flush()
    return raw


def _session_live(now: datetime) -> Exists:
    """The grant's portal session is neither ended nor past its absolute end."""
    return exists().where(
        col(AuthSession.id) == col(OidcGrant.session_id),
        col(AuthSession.ended_at).is_(None),
        col(AuthSession.expires_at) > now,
    )


async def redeem_code(
    db: AsyncSession, raw: str, vendor_id: int, redirect_uri: str, challenge: str, *, now: datetime
) -> OidcGrant | None:
    """The grant of this code, redeemed now — when it is this vendor's, for this redirect URI
    and PKCE verifier (its S256 `challenge`), unexpired, unused, and its session live. One
    statement decides it."""
    won = await db.exec(
        update(OidcGrant)
        .where(
            col(OidcGrant.code_hash) == digest(raw),
            col(OidcGrant.vendor_id) == vendor_id,
            col(OidcGrant.redirect_uri) == redirect_uri,
            col(OidcGrant.code_challenge) == challenge,
            col(OidcGrant.code_redeemed_at).is_(None),
            col(OidcGrant.revoked_at).is_(None),
            col(OidcGrant.code_expires_at) > now,
            _session_live(now),
        )
        .values(code_redeemed_at=now)
        .returning(col(OidcGrant.id))
    )
    grant_id = won.scalar_one_or_none()
    return await db.get(OidcGrant, grant_id) if grant_id is not None else None


async def why_code_failed(
    db: AsyncSession, raw: str, vendor_id: int, redirect_uri: str, challenge: str, *, now: datetime
) -> str:
    """Why a code did not redeem (kept internal: the vendor sees one answer). A code used
    twice has leaked, or is being replayed: the tokens it gave are revoked and the member's
    portal session ends, as for a replayed Enhanced token."""
    grant = (await db.exec(select(OidcGrant).where(OidcGrant.code_hash == digest(raw)))).first()
    if grant is None:
        return "unknown"
    if grant.vendor_id != vendor_id:
        return "other_vendor"
    if grant.code_redeemed_at is not None:
        await revoke(db, grant, now=now, reason="code_replay", end_session=True)
        return "replay"
    if grant.revoked_at is not None:
        return "revoked"
    if grant.code_expires_at is not None and grant.code_expires_at <= now:
        return "expired"
    if grant.redirect_uri != redirect_uri:
        return "redirect_uri"
    return "pkce" if grant.code_challenge != challenge else "session_ended"


async def revoke(
    db: AsyncSession, grant: OidcGrant, *, now: datetime, reason: str, end_session: bool = False
) -> None:
    grant.revoked_at = grant.revoked_at or now
    grant.revoke_reason = grant.revoke_reason or reason
    db.add(grant)
    if end_session:
        session = await db.get(AuthSession, grant.session_id)
        if session is not None and session.ended_at is None:
            await sessions.end(db, session, now=now, reason=reason)


@dataclass(frozen=True)
class Issued:
    access_token: str
    expires_in: int
    refresh_token: str | None


async def issue_tokens(
    db: AsyncSession,
    grant: OidcGrant,
    *,
    now: datetime,
    access_ttl: timedelta,
    refresh_until: datetime | None,
) -> Issued:
    """An access token and, when `refresh_until` is given, a refresh token valid until then."""
    access, refresh = new_secret(), new_secret() if refresh_until else None
    rows = [_token(grant, "access", access, now, now + access_ttl)]
    if refresh is not None and refresh_until is not None:
        rows.append(_token(grant, "refresh", refresh, now, refresh_until))
    db.add_all(rows)
    await db.flush()
    return Issued(access, int(access_ttl.total_seconds()), refresh)


def _token(grant: OidcGrant, kind: str, raw: str, now: datetime, until: datetime) -> OidcToken:
    return OidcToken(
        token_hash=digest(raw), grant_id=id_of(grant), kind=kind, issued_at=now, expires_at=until
    )


async def use_refresh_token(
    db: AsyncSession, raw: str, vendor_id: int, *, now: datetime
) -> OidcGrant | None:
    """The grant of this refresh token, which is used up by this call — when it is this
    vendor's, unused, unexpired, its family not revoked and its session live. One statement."""
    live_grants = select(OidcGrant.id).where(
        col(OidcGrant.vendor_id) == vendor_id,
        col(OidcGrant.revoked_at).is_(None),
        _session_live(now),
    )
    won = await db.exec(
        update(OidcToken)
        .where(
            col(OidcToken.token_hash) == digest(raw),
            col(OidcToken.kind) == "refresh",
            col(OidcToken.used_at).is_(None),
            col(OidcToken.expires_at) > now,
            col(OidcToken.grant_id).in_(live_grants),
        )
        .values(used_at=now)
        .returning(col(OidcToken.grant_id))
    )
    grant_id = won.scalar_one_or_none()
    return await db.get(OidcGrant, grant_id) if grant_id is not None else None


async def why_refresh_failed(db: AsyncSession, raw: str, vendor_id: int, *, now: datetime) -> str:
    """Why a refresh token did not work. One used before has leaked or is being replayed: its
    whole family is revoked (RFC 9700 §4.14.2), so neither copy works from now on."""
    found = (
        await db.exec(
            select(OidcToken, OidcGrant)
            .join(OidcGrant, col(OidcGrant.id) == col(OidcToken.grant_id))
            .where(OidcToken.token_hash == digest(raw), OidcToken.kind == "refresh")
        )
    ).first()
    if found is None:
        return "unknown"
    token, grant = found
    if grant.vendor_id != vendor_id:
        return "other_vendor"
    if token.used_at is not None:
        await revoke(db, grant, now=now, reason="refresh_reuse")
        return "reuse"
    if grant.revoked_at is not None:
        return "revoked"
    return (
        "expired" if token.expires_at is not None and token.expires_at <= now else "session_ended"
    )


@dataclass(frozen=True)
class Access:
    grant: OidcGrant
    member: Member
    vendor: Vendor


async def access(db: AsyncSession, raw: str, *, now: datetime) -> Access | None:
    """What a live access token gives: its grant, member and vendor (all still enabled)."""
    found = (
        await db.exec(
            select(OidcGrant, Member, Vendor)
            .join(OidcToken, col(OidcToken.grant_id) == col(OidcGrant.id))
            .join(Member, col(Member.id) == col(OidcGrant.member_id))
            .join(Vendor, col(Vendor.id) == col(OidcGrant.vendor_id))
            .where(
                col(OidcToken.token_hash) == digest(raw),
                col(OidcToken.kind) == "access",
                col(OidcToken.expires_at) > now,
                col(OidcGrant.revoked_at).is_(None),
                col(Member.enabled),
                col(Vendor.enabled),
                _session_live(now),
            )
        )
    ).first()
    return Access(*found) if found is not None else None


async def session_of(db: AsyncSession, grant: OidcGrant) -> AuthSession | None:
    return await db.get(AuthSession, grant.session_id)
