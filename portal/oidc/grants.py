"""Authorization codes and the tokens they start (RFC 6749 §4.1, §6; RFC 7009; RFC 9700 §2.2.2,
§4.14).

A grant is one authorization: its code, then a family of access and refresh tokens. Every
secret is 256 random bits and only its hash is stored. Single use is one conditional UPDATE —
of any number of concurrent redemptions of a code, or uses of a refresh token, exactly one sees
its row come back — and a second use revokes the whole family (the grant's `revoked_at`, which
every token's check reads; portal/oidc/grant_revocation.py sets it). A grant is in force while
its member is enabled and its portal session is live — or, for offline access, while its
refresh tokens last, whatever became of the session."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import BindParameter, Date, DateTime, bindparam, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import access_refusals, access_rules, good_standing, reasons, session_vendors, settings
from portal.access_rules import Decision
from portal.crypto import digest, new_secret
from portal.models import Member, Vendor, id_of
from portal.oidc import grant_revocation
from portal.oidc.models import OidcGrant, OidcToken

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
    await session_vendors.record(db, new.session_id, new.vendor_id, "oidc", now=now)
    return raw


# A grant in force, in SQL, written once: not revoked, the member enabled (whatever enabled them
# last) and let in by the vendor's access rule as it stands now (access_rules.ALLOWS), and the
# portal session live — neither ended nor past its absolute end — unless the grant is offline
# access, which outlives the session's timeouts. The single-use rules below hold it, and
# UserInfo's statement (access_tokens.LIVE) formats it in, so a member the rule no longer lets
# in gets nothing from the very statement that would issue (a rule changed by staff and an issue
# cannot interleave). Placeholders: `{now}`, the statement's time; `{paid_through_from}`,
# good_standing.Terms.earliest_paid_through (a date: `paid_through_from` below). The grant's
# table is `oidc_grant`, unaliased. Text, not an expression tree: an aliased Member built for
# every statement took a sixth of the token endpoint's time (bench/README.md), and text compiles
# for nothing.
IN_FORCE = """(
    oidc_grant.revoked_at IS NULL
    AND EXISTS (
        SELECT 1 FROM member gm JOIN vendor gv ON gv.id = oidc_grant.vendor_id
        WHERE gm.id = oidc_grant.member_id AND gm.enabled AND ACCESS_RULE
    )
    AND (oidc_grant.offline OR EXISTS (
        SELECT 1 FROM auth_session gs
        WHERE gs.id = oidc_grant.session_id AND gs.ended_at IS NULL AND gs.expires_at > {now}
    ))
)""".replace(
    "ACCESS_RULE",
    access_rules.allows_sql(vendor="gv", member="gm", paid_through_from="{paid_through_from}"),
)


def paid_through_from(now: datetime) -> date:
    """IN_FORCE's `{paid_through_from}` now: the earliest paid-through date in good standing."""
    return good_standing.terms(settings.current(), now).earliest_paid_through


async def _revoke(db: AsyncSession, grant: OidcGrant, *, now: datetime, reason: str) -> None:
    await grant_revocation.revoke(db, col(OidcGrant.id) == grant.id, now=now, reason=reason)


async def member_enabled(db: AsyncSession, grant: OidcGrant) -> bool:
    member = await db.get(Member, grant.member_id)
    return member is not None and member.enabled


@dataclass(frozen=True)
class RefusedByRule:
    """A grant that gave nothing because its vendor's access rule no longer lets its member in:
    audited as `access.refused` (access_refusals.record), and never a replay — the grant stays,
    so a member who renews is let in again."""

    vendor: Vendor
    member_id: int
    decision: Decision


async def refused_by_rule(
    db: AsyncSession, grant: OidcGrant, *, now: datetime
) -> RefusedByRule | None:
    """Whether the vendor's access rule refuses the grant's member now (the explanation of
    IN_FORCE's verdict, read afterwards: None when the rule lets them in by now)."""
    vendor = await db.get(Vendor, grant.vendor_id)
    if vendor is None:
        return None
    decision = await access_refusals.decision_for(db, vendor, grant.member_id, now=now)
    return None if decision.allowed else RefusedByRule(vendor, grant.member_id, decision)


# Single use, in SQL, written once: the code redeemed, the refresh token used — this vendor's,
# unused, unexpired, its grant in force. redeem_code() and use_refresh_token() run them here; the
# token endpoint's own statements (oidc/token_exchange.py) format them in with their parameters.
# Placeholders: {code_hash} {vendor_id} {redirect_uri} {challenge} {now} {paid_through_from};
# {token_hash}.
CODE_REDEEMABLE = """oidc_grant.code_hash = {code_hash} AND oidc_grant.vendor_id = {vendor_id}
    AND oidc_grant.redirect_uri = {redirect_uri} AND oidc_grant.code_challenge = {challenge}
    AND oidc_grant.code_redeemed_at IS NULL AND oidc_grant.code_expires_at > {now}
    AND IN_FORCE""".replace("IN_FORCE", IN_FORCE)
REFRESH_USABLE = """oidc_token.token_hash = {token_hash} AND oidc_token.kind = 'refresh'
    AND oidc_token.used_at IS NULL AND oidc_token.expires_at > {now}
    AND oidc_token.grant_id IN (
        SELECT oidc_grant.id FROM oidc_grant WHERE oidc_grant.vendor_id = {vendor_id} AND IN_FORCE
    )""".replace("IN_FORCE", IN_FORCE)
_NAMED = {
    name: f":{name}"
    for name in (
        "code_hash", "vendor_id", "redirect_uri", "challenge", "now", "token_hash",
        "paid_through_from",
    )
}  # fmt: skip
_CODE_REDEEMABLE = text(CODE_REDEEMABLE.format(**_NAMED))
_REFRESH_USABLE = text(REFRESH_USABLE.format(**_NAMED))


def _at(now: datetime) -> tuple[BindParameter[datetime], BindParameter[date]]:
    return (
        bindparam("now", now, type_=DateTime(timezone=True)),
        bindparam("paid_through_from", paid_through_from(now), type_=Date()),
    )


async def redeem_code(
    db: AsyncSession, raw: str, vendor_id: int, redirect_uri: str, challenge: str, *, now: datetime
) -> OidcGrant | None:
    """The grant of this code, redeemed now — when it is this vendor's, for this redirect URI
    and PKCE verifier (its S256 `challenge`), unexpired, unused, and its session live. One
    statement decides it (CODE_REDEEMABLE)."""
    redeemable = _CODE_REDEEMABLE.bindparams(
        *_at(now), code_hash=digest(raw), vendor_id=vendor_id, redirect_uri=redirect_uri,
        challenge=challenge,
    )  # fmt: skip
    won = await db.exec(
        update(OidcGrant)
        .where(redeemable)
        .values(code_redeemed_at=now)
        .returning(col(OidcGrant.id))
        # Nothing of the grant is loaded yet in this session: no objects for the ORM to evaluate
        # the WHERE clause against in Python (its default), which costs more than the statement.
        .execution_options(synchronize_session=False)
    )
    grant_id = won.scalar_one_or_none()
    return await db.get(OidcGrant, grant_id) if grant_id is not None else None


async def why_code_failed(
    db: AsyncSession, raw: str, vendor_id: int, redirect_uri: str, challenge: str, *, now: datetime
) -> str | RefusedByRule:
    """Why a code did not redeem (kept internal: the vendor sees one answer). Only a second
    presentation with the code's whole binding (client, redirect URI, PKCE verifier), within the
    code's lifetime, is a replay: then the tokens it gave are revoked — not the member's portal
    session, which a code seen in a browser's history or a log must not be able to end."""
    grant = (await db.exec(select(OidcGrant).where(OidcGrant.code_hash == digest(raw)))).first()
    if grant is None:
        return reasons.UNKNOWN
    if grant.vendor_id != vendor_id:
        return reasons.OTHER_VENDOR
    if grant.redirect_uri != redirect_uri:
        return reasons.REDIRECT_URI
    if grant.code_challenge != challenge:
        return reasons.PKCE
    if grant.code_expires_at is not None and grant.code_expires_at <= now:
        return reasons.EXPIRED
    if grant.code_redeemed_at is not None:
        await _revoke(db, grant, now=now, reason="code_replay")
        return reasons.REPLAY
    if grant.revoked_at is not None:
        return reasons.REVOKED
    return await why_in_force_failed(db, grant, now=now)


async def why_in_force_failed(
    db: AsyncSession, grant: OidcGrant, *, now: datetime
) -> str | RefusedByRule:
    """Why a grant, neither revoked nor its code or token spent, is not in force (IN_FORCE):
    its member disabled, the vendor's access rule, or else its portal session ended."""
    if not await member_enabled(db, grant):
        return reasons.MEMBER_DISABLED
    return await refused_by_rule(db, grant, now=now) or reasons.SESSION_ENDED


async def store_tokens(
    db: AsyncSession,
    grant: OidcGrant,
    *,
    now: datetime,
    scope: str,
    access_token: str,
    access_until: datetime,
    refresh_token: str | None,
    refresh_until: datetime | None,
) -> None:
    """Store an access token for `scope` and, when given, a refresh token valid until
    `refresh_until` (it carries the grant's whole scope: RFC 6749 §6). Only their hashes."""
    rows = [_token(grant, "access", access_token, now, access_until, scope)]
    if refresh_token is not None and refresh_until is not None:
        rows.append(_token(grant, "refresh", refresh_token, now, refresh_until, None))
    db.add_all(rows)
    await db.flush()


def _token(
    grant: OidcGrant, kind: str, raw: str, now: datetime, until: datetime, scope: str | None
) -> OidcToken:
    return OidcToken(
        token_hash=digest(raw),
        grant_id=id_of(grant),
        kind=kind,
        scope=scope,
        issued_at=now,
        expires_at=until,
    )


async def use_refresh_token(
    db: AsyncSession, raw: str, vendor_id: int, *, now: datetime
) -> OidcGrant | None:
    """The grant of this refresh token, which is used up by this call — when it is this
    vendor's, unused, unexpired and its grant in force. One statement (REFRESH_USABLE)."""
    usable = _REFRESH_USABLE.bindparams(*_at(now), token_hash=digest(raw), vendor_id=vendor_id)
    won = await db.exec(
        update(OidcToken)
        .where(usable)
        .values(used_at=now)
        .returning(col(OidcToken.grant_id))
        .execution_options(synchronize_session=False)  # as in redeem_code
    )
    grant_id = won.scalar_one_or_none()
    return await db.get(OidcGrant, grant_id) if grant_id is not None else None


async def find(db: AsyncSession, raw: str) -> tuple[OidcToken, OidcGrant] | None:
    found = await db.exec(
        select(OidcToken, OidcGrant)
        .join(OidcGrant, col(OidcGrant.id) == col(OidcToken.grant_id))
        .where(OidcToken.token_hash == digest(raw))
    )
    row = found.first()
    return (row[0], row[1]) if row is not None else None


async def why_refresh_failed(
    db: AsyncSession, raw: str, vendor_id: int, *, now: datetime, switched_off: bool = False
) -> str | RefusedByRule:
    """Why a refresh token did not work. One used before has leaked or is being replayed: its
    whole family is revoked (RFC 9700 §4.14.2), so neither copy works from now on. One presented
    while the vendor's refresh switch is off is revoked too, for good."""
    found = await find(db, raw)
    if found is None or found[0].kind != "refresh":
        return reasons.UNKNOWN
    token, grant = found
    if grant.vendor_id != vendor_id:
        return reasons.OTHER_VENDOR
    if switched_off:
        await _revoke(db, grant, now=now, reason=reasons.REFRESH_OFF)
        return reasons.REFRESH_OFF
    if token.used_at is not None:
        await _revoke(db, grant, now=now, reason="refresh_reuse")
        return reasons.REUSE
    if grant.revoked_at is not None:
        return reasons.REVOKED
    if token.expires_at is not None and token.expires_at <= now:
        return reasons.EXPIRED
    # Refused by the access rule is not reuse: the token was not used, nothing is revoked.
    return await why_in_force_failed(db, grant, now=now)


@dataclass(frozen=True)
class Revocation:
    result: str  # revoked, already_revoked; unknown, other_vendor
    grant: OidcGrant | None  # the caller's own grant, when the token was one of its


async def revoke_token(db: AsyncSession, raw: str, vendor_id: int, *, now: datetime) -> Revocation:
    """RFC 7009: an access or a refresh token of the vendor's ends its whole grant (§2.1: the
    server MAY revoke the family for an access token; one mark is all a vendor signing a member
    out needs). Another vendor's token is left alone."""
    found = await find(db, raw)
    if found is None:
        return Revocation(reasons.UNKNOWN, None)
    _, grant = found
    if grant.vendor_id != vendor_id:
        return Revocation(reasons.OTHER_VENDOR, None)
    if grant.revoked_at is not None:
        return Revocation("already_revoked", grant)
    await _revoke(db, grant, now=now, reason="revoked_by_vendor")
    return Revocation(reasons.REVOKED, grant)
