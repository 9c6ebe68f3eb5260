"""One-time SSO tokens (protocol.md §3): issue, redeem exactly once, void.

Issuing and redeeming are the two hand-off paths every move between vendor sites takes, so each
is ONE statement on a raw connection in autocommit (db.connection()): a data-modifying CTE does
the whole step — the token, its audit event, the vendor's budget — atomically, in one round
trip, holding its row locks for that statement only. The rare outcomes (a refused token: why,
and a replay's revocation) run in an ordinary transaction."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import access_rules, api_budgets, audit, rate_limits, reasons
from portal.auth import sessions
from portal.auth.models import AuthSession
from portal.auth.sessions import SessionRef
from portal.catalogue import MEMBER_FIELDS
from portal.crypto import digest, new_secret
from portal.enhanced.models import SsoToken
from portal.enhanced.vendor_records import VendorRef
from portal.front_ends import PurgeRule
from portal.good_standing import Terms

# new_secret() gives 43 URL-safe characters; anything else was never issued by us.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")

# The token, the session's record of the vendors it reached, the first-token flag of its session
# (cleared once: only that token followed a password), and the audit event, in one statement —
# and only when the vendor's access rule lets the member in (portal/access_rules.py). The rule
# is read here, in the statement that writes, not before it: a rule staff change (or a member's
# lapse) that committed before this statement began is always the one applied, so no token is
# issued on a rule already replaced. Refused, nothing is written and no row comes back.
ISSUE = f"""
WITH allowed AS (
    SELECT 1 FROM vendor v JOIN member m ON m.id = $3
    WHERE v.id = $2 AND {access_rules.allows_sql(vendor="v", member="m", paid_through_from="$13")}
), token AS (
    INSERT INTO sso_token (token_hash, vendor_id, member_id, session_id, issued_at, expires_at)
    SELECT $1, $2, $3, $4, $5, $6 FROM allowed
    RETURNING id
), reached AS (
    -- The vendors this session reached (portal/session_vendors.py), in the same statement.
    INSERT INTO session_vendor (session_id, vendor_id, front_end, first_at, last_at)
    SELECT $4, $2, 'enhanced', $5, $5 FROM token
    ON CONFLICT (session_id, vendor_id, front_end)
    DO UPDATE SET last_at = GREATEST(session_vendor.last_at, EXCLUDED.last_at)
), fresh AS (
    UPDATE auth_session SET fresh_sign_in = false
    WHERE id = $4 AND fresh_sign_in AND EXISTS (SELECT 1 FROM token)
    RETURNING id
)
INSERT INTO audit_event
    (event, outcome, vendor_key, member_id, client_address, details, request_id)
SELECT $7, $8, $9, $3, $10,
       $11::jsonb || jsonb_build_object('silent', NOT EXISTS (SELECT 1 FROM fresh)), $12
FROM token
RETURNING details
"""  # noqa: S608 - built from constant SQL; every value is a parameter

# The vendor's budget for this minute (counted first: over it, nothing is redeemed), the one
# conditional UPDATE that decides single use (of any number of concurrent attempts on any number
# of processes exactly one sees its row come back), the member with its portal session's sid,
# and the audit event.
REDEEM = f"""
WITH budget AS (
    INSERT INTO rate_counter (bucket, window_start, hits) VALUES ($1, $2, 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counter.hits + 1
    RETURNING hits
), won AS (
    UPDATE sso_token SET redeemed_at = $3
    WHERE token_hash = $4 AND vendor_id = $5 AND redeemed_at IS NULL AND voided_at IS NULL
      AND expires_at > $3 AND (SELECT hits FROM budget) <= $6
      -- A token issued as its session was ending (after the end voided the others) is void too.
      AND EXISTS (
          SELECT 1 FROM auth_session s WHERE s.id = sso_token.session_id AND s.ended_at IS NULL
      )
    RETURNING member_id, session_id
), redeemed AS (
    SELECT {MEMBER_FIELDS}, s.sid AS session_sid
    FROM member m JOIN won ON m.id = won.member_id JOIN auth_session s ON s.id = won.session_id
    WHERE m.enabled
), recorded AS (
    INSERT INTO audit_event
        (event, outcome, vendor_key, member_id, client_address, details, request_id)
    SELECT $7, $8, $9, redeemed.id, $10, $11::jsonb, $12 FROM redeemed
)
SELECT (SELECT hits FROM budget) AS hits, (SELECT member_id FROM won) AS won_member_id,
       redeemed.*
FROM (SELECT 1) AS one LEFT JOIN redeemed ON true
"""  # noqa: S608 - built from constant column names; every value is a parameter


def well_formed(raw: str) -> bool:
    return TOKEN_PATTERN.fullmatch(raw) is not None


async def issue(
    conn: Any,
    vendor: VendorRef,
    session: SessionRef,
    *,
    now: datetime,
    ttl: timedelta,
    terms: Terms,
    client_address: str | None,
) -> str | None:
    """A token bound to this vendor, member and portal session (only its hash is stored), and
    its `token.issued` event; returns the token — or None, with nothing written, when the
    vendor's access rule (as the statement reads it, on `terms`) does not let the member in."""
    if session.member_id is None:
        raise ValueError("tokens come only from member sessions")
    raw = new_secret()
    event = audit.checked(
        "token.issued",
        vendor_key=vendor.key,
        member_id=session.member_id,
        client_address=client_address,
    )
    stored = await conn.fetchval(
        ISSUE,
        digest(raw), vendor.id, session.member_id, session.id, now, now + ttl,
        *audit.inserted_values(event), terms.earliest_paid_through,
    )  # fmt: skip
    if stored is None:
        return None
    event.details = stored  # the driver decodes jsonb
    audit.counted(event)
    return raw


@dataclass(frozen=True)
class Redeemed:
    hits: int  # the vendor's calls this minute, this one included
    won: bool  # the token was redeemed by this call (unless over the budget)
    member: Any | None  # the member's fields, when it was won and the member may sign in
    sid: str = ""  # the sid of the portal session the token came from, with the member


async def redeem(
    conn: Any,
    raw: str,
    vendor: VendorRef,
    *,
    now: datetime,
    per_minute: int,
    client_address: str | None,
) -> Redeemed:
    """Spend one call of the vendor's budget and, within it, redeem the token once."""
    event = audit.checked("token.redeemed", vendor_key=vendor.key, client_address=client_address)
    row = await conn.fetchrow(
        REDEEM,
        api_budgets.bucket_of_vendor(vendor.key), rate_limits.window(now), now, digest(raw),
        vendor.id, per_minute,
        *audit.inserted_values(event),
    )  # fmt: skip
    fields = dict(row.items())
    hits, won = fields.pop("hits"), fields.pop("won_member_id") is not None
    sid = fields.pop("session_sid")
    if fields["id"] is None:
        return Redeemed(hits, won, None)
    audit.counted(event)
    return Redeemed(hits, won, SimpleNamespace(**fields), sid)


async def why_not(db: AsyncSession, raw: str, vendor: VendorRef, *, now: datetime) -> str:
    """Why a token that did not redeem did not (kept internal: the vendor sees one answer). A
    replay means the token leaked (RFC 9700 §4.5): the portal session it came from ends."""
    token_hash = digest(raw)
    token = (await db.exec(select(SsoToken).where(SsoToken.token_hash == token_hash))).first()
    if token is None:
        return reasons.UNKNOWN
    if token.vendor_id != vendor.id:
        return reasons.OTHER_VENDOR
    if token.redeemed_at is not None:
        await _revoke_what_it_released(db, token, now=now)
        return reasons.REPLAY
    session = await db.get(AuthSession, token.session_id)
    ended = session is None or session.ended_at is not None
    return reasons.VOIDED if token.voided_at is not None or ended else reasons.EXPIRED


async def _revoke_what_it_released(db: AsyncSession, token: SsoToken, *, now: datetime) -> None:
    session = await db.get(AuthSession, token.session_id)
    if session is not None and session.ended_at is None:
        await sessions.end(db, session, now=now, reason="token_replay")


async def session_ended(db: AsyncSession, session_id: int, *, now: datetime, reason: str) -> None:
    """A portal session ended: every token it issued that is not yet redeemed is void."""
    await db.exec(
        update(SsoToken)
        .where(
            col(SsoToken.session_id) == session_id,
            col(SsoToken.redeemed_at).is_(None),
            col(SsoToken.voided_at).is_(None),
        )
        .values(voided_at=now)
    )


def purge_rules(now: datetime, token_age: timedelta) -> list[PurgeRule]:
    """A token past its age: a redeemed token presented again ends the session it came from (a
    replay), so the age is at least a session's whole life (portal/retention.py). Which
    vendors a session reached is session_vendor's to say, kept with the session."""
    tokens: Table = SsoToken.__table__  # type: ignore[attr-defined]
    return [(tokens, tokens.c.expires_at < now - token_age)]
