"""Access tokens at UserInfo: what a live one gives (its grant, member, vendor and scope), and
why one gives nothing, for the audit log. Issued and revoked with their grant (grants.py)."""

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import api_budgets, rate_limits, reasons
from portal.catalogue import MEMBER_FIELDS
from portal.crypto import digest
from portal.models import Vendor
from portal.oidc import grants

# What a live access token gives, and one call of its vendor's budget, in ONE statement on a raw
# connection (db.connection()), as the Enhanced redemption is (docs/layout.md, "The two hand-off
# paths"): the token unexpired, its vendor enabled, its grant in force (grants.IN_FORCE, the one
# copy of that rule, the vendor's access rule in it: $5), the member's fields and the vendor's
# returned fields. Only a live token spends the vendor's budget; a refused one spends its
# network's (userinfo_views.refused).
LIVE = f"""
WITH found AS (
    SELECT coalesce(nullif(t.scope, ''), oidc_grant.scope) AS token_scope,
           v.id AS vendor_id, v.key AS vendor_key, v.scopes AS vendor_scopes,
           v.refresh_tokens AS vendor_refresh_tokens, v.pairwise_subject AS vendor_pairwise,
           {MEMBER_FIELDS}
    FROM oidc_token t
    JOIN oidc_grant ON oidc_grant.id = t.grant_id
    JOIN vendor v ON v.id = oidc_grant.vendor_id
    JOIN member m ON m.id = oidc_grant.member_id
    WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2 AND v.enabled
      AND {grants.IN_FORCE.format(now="$2", paid_through_from="$5")}
), budget AS (
    INSERT INTO rate_counter (bucket, window_start, hits)
    SELECT $4 || found.vendor_key, $3, 1 FROM found
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counter.hits + 1
    RETURNING hits
)
SELECT found.*, (SELECT hits FROM budget) AS hits,
       ARRAY(SELECT f.field FROM vendor_field f WHERE f.vendor_id = found.vendor_id
             ORDER BY f.position) AS fields
FROM found
"""  # noqa: S608 - built from constant SQL; every value is a parameter


@dataclass(frozen=True, slots=True)
class UserInfoVendor:
    """The vendor as UserInfo needs it (scopes.allowed() reads `scopes` and `refresh_tokens`)."""

    key: str
    scopes: str
    refresh_tokens: bool
    pairwise_subject: bool


@dataclass(frozen=True)
class Access:
    vendor: UserInfoVendor
    member: Any  # the member's fields (catalogue.MEMBER_FIELDS), by attribute
    scope: str  # what the access token was issued for
    fields: list[str]  # the catalogue fields the vendor receives, in order
    hits: int  # the vendor's calls this minute, this one included


async def access(conn: Any, raw: str, *, now: datetime) -> Access | None:
    """What a live access token gives, its vendor's budget spent by one call; None (nothing
    spent) for a token that gives nothing. `conn` is a raw connection (db.connection())."""
    row = await conn.fetchrow(
        LIVE, digest(raw), now, rate_limits.window(now), api_budgets.VENDOR_BUCKETS,
        grants.paid_through_from(now),
    )  # fmt: skip
    if row is None:
        return None
    found = dict(row.items())
    vendor = UserInfoVendor(
        found.pop("vendor_key"), found.pop("vendor_scopes"), found.pop("vendor_refresh_tokens"),
        found.pop("vendor_pairwise"),
    )  # fmt: skip
    scope, fields, hits = found.pop("token_scope"), list(found.pop("fields")), found.pop("hits")
    return Access(vendor, SimpleNamespace(**found), scope, fields, hits)


@dataclass(frozen=True)
class Refusal:
    """Why an access token was refused, for the audit log."""

    reason: str
    vendor_key: str | None = None
    member_id: int | None = None
    by_rule: grants.RefusedByRule | None = None  # the vendor's access rule refused the member


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
        by_rule = await grants.refused_by_rule(db, grant, now=now)
        if by_rule is not None:
            return Refusal(by_rule.decision.why_not or "", vendor.key, grant.member_id, by_rule)
        reason = reasons.SESSION_ENDED
    return Refusal(reason, vendor.key if vendor else None, grant.member_id)
