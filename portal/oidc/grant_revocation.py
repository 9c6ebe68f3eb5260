"""OpenID Connect grants as the rest of the portal reaches them, through the front end's
registration (portal/oidc/front_end.py; portal/oidc/grants.py issues and checks them): revoked
when a portal session ends other than by timing out, when staff end all of a member's sessions,
when a vendor loses its refresh switch; and which sites still hold offline access for a member.
One mark, the grant's `revoked_at` and `revoke_reason`, which every token's check reads."""

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, Table, exists, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import reasons
from portal.front_ends import PurgeRule
from portal.models import Vendor
from portal.oidc.models import OidcGrant, OidcToken

# Offline access is for when the member is away (OpenID Connect Core §11): a session that only
# timed out leaves it in force; every other end (a sign-out, staff, a replay, a new password)
# is someone acting, and revokes it.
TIMEOUTS = frozenset({"idle_timeout", "absolute_timeout"})


async def revoke(db: AsyncSession, *which: ColumnElement[bool], now: datetime, reason: str) -> int:
    """Revoke the grants `which` selects that are still in force; returns how many. One
    conditional UPDATE: the first revocation's time and reason stand."""
    result = await db.exec(
        update(OidcGrant)
        .where(col(OidcGrant.revoked_at).is_(None), *which)
        .values(revoked_at=now, revoke_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


async def session_ended(db: AsyncSession, session_id: int, *, now: datetime, reason: str) -> None:
    """A portal session ended (portal/auth/sessions.py): its grants end with it, but offline
    access outlives a timeout."""
    if reason in TIMEOUTS:
        return
    await revoke(db, col(OidcGrant.session_id) == session_id, now=now, reason=reason)


async def member_signed_out(
    db: AsyncSession, member_id: int, *, now: datetime, reason: str, keep_session: int | None
) -> int:
    """Every grant of a member — offline access from sessions long ended too — but those of
    `keep_session`: staff ending all of a member's sessions mean every site."""
    return await revoke(
        db,
        col(OidcGrant.member_id) == member_id,
        col(OidcGrant.session_id) != (keep_session if keep_session is not None else -1),
        now=now,
        reason=reason,
    )


async def vendor_changed(
    db: AsyncSession,
    vendor_id: int,
    *,
    before: dict[str, object],
    after: dict[str, object],
    now: datetime,
) -> None:
    """Staff took a vendor's refresh switch away: its offline access ends for good (switching
    it on again brings none back)."""
    if not before["refresh_tokens"] or after["refresh_tokens"]:
        return
    await revoke(
        db,
        col(OidcGrant.vendor_id) == vendor_id,
        col(OidcGrant.offline).is_(True),
        now=now,
        reason=reasons.REFRESH_OFF,
    )


def offline_in_force(now: datetime) -> ColumnElement[bool]:
    """An offline grant not revoked, with a refresh token still usable: its session row must
    stay (portal/retention.py), for the `sid` its ID tokens carry."""
    usable = exists().where(
        col(OidcToken.grant_id) == col(OidcGrant.id),
        col(OidcToken.kind) == "refresh",
        col(OidcToken.used_at).is_(None),
        col(OidcToken.expires_at) > now,
    )
    return col(OidcGrant.offline) & col(OidcGrant.revoked_at).is_(None) & usable


async def offline_sites(db: AsyncSession, member_id: int, now: datetime) -> list[Vendor]:
    """The vendors that hold offline access for a member, whatever became of the session."""
    held = select(col(OidcGrant.vendor_id)).where(
        col(OidcGrant.member_id) == member_id, offline_in_force(now)
    )
    query = select(Vendor).where(col(Vendor.id).in_(held)).order_by(col(Vendor.name))
    return list(await db.exec(query))


def purge_rules(now: datetime, token_age: timedelta) -> list[PurgeRule]:
    """Each refresh of offline access adds two tokens to a grant that may live for months. A
    token past its end gives nothing; kept a while, a reused refresh token is still known for
    the replay it is. (Grants go with their session.)"""
    tokens = _table(OidcToken)
    return [(tokens, tokens.c.expires_at < now - token_age)]


def offline_sessions(now: datetime) -> Select[tuple[int]]:
    """Sessions whose offline access is in force: their grants need the session's sid."""
    return select(_table(OidcGrant).c.session_id).where(offline_in_force(now))


def _table(model: type) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table
