"""The token endpoint's ordinary success — a code exchanged, a refresh token used — in two
statements on one raw connection (db.connection()), as the Enhanced hand-off paths and UserInfo
run (docs/layout.md, "The two hand-off paths"): CLIENT reads the client with its secrets and the
presented grant's fixed facts; REDEEM or REFRESH then uses the code or refresh token once, spends
the vendor's budget, issues the tokens, reads what the ID token names and records the event, in
one statement that holds its row locks for that statement only. Every refusal is worked out and
audited by the ORM path of token_views.py, as before."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal import audit, rate_limits, vendor_secrets
from portal.api_budgets import bucket_of_vendor
from portal.crypto import digest
from portal.oidc import grants
from portal.oidc.issued_tokens import Issue, Named

# The client with its active secrets (as enhanced/vendor_records.FOR_THE_API reads a vendor for
# the user service), and — when the code or refresh token presented is this client's — what of
# its grant the tokens depend on before it is used, none of which changes once it is set: the
# scope, whether it is offline access (set as its code is redeemed, before any refresh token
# exists) and its portal session's absolute end. Read only: nothing is decided here.
CLIENT = f"""
SELECT v.id, v.key, v.protocol, v.enabled, v.public_client, v.refresh_tokens, v.scopes,
       v.pairwise_subject, v.id_token_signed_response_alg,
       {vendor_secrets.ACTIVE_COLUMNS},
       g.scope AS grant_scope, g.offline AS grant_offline, gs.expires_at AS session_expires_at
FROM vendor v
LEFT JOIN oidc_grant g ON g.vendor_id = v.id AND g.id = coalesce(
    (SELECT c.id FROM oidc_grant c WHERE c.code_hash = $2),
    (SELECT t.grant_id FROM oidc_token t WHERE t.token_hash = $3 AND t.kind = 'refresh'))
LEFT JOIN auth_session gs ON gs.id = g.session_id
WHERE v.key = $1
"""  # noqa: S608 - built from constant SQL; every value is a parameter

# One call of the vendor's budget (portal/oidc/callers.py): a confidential client's every call
# ($3 false), a public client's only when its code or token is `usable` — locked by that CTE, so
# of two presentations at once only the one that will use it pays. Over the budget, nothing is
# used: the statement's UPDATE asks for the count.
BUDGET = """budget AS (
    INSERT INTO rate_counter (bucket, window_start, hits)
    SELECT $1::text, $2::timestamptz, 1 WHERE NOT $3 OR EXISTS (SELECT 1 FROM usable)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counter.hits + 1
    RETURNING hits
)"""
WITHIN_BUDGET = "coalesce((SELECT hits FROM budget), 0) <= $4"
# `won`: the grant whose code or refresh token this statement used. Its tokens (only their
# hashes: a token read from the database gives nothing), its audit event (checked by
# audit.checked), and what the ID token names: the member's iMIS ID, the portal session's sid.
ISSUED = """tokens AS (
    INSERT INTO oidc_token (token_hash, grant_id, kind, scope, issued_at, expires_at)
    SELECT issued.hash, won.id, issued.kind, issued.scope, $5, issued.until
    FROM won, (VALUES ($7::text, 'access', $8::text, $9::timestamptz),
                      ($10::text, 'refresh', NULL, $11::timestamptz))
         AS issued (hash, kind, scope, until)
    WHERE issued.hash IS NOT NULL
), recorded AS (
    INSERT INTO audit_event
        (event, outcome, vendor_key, member_id, client_address, details, request_id)
    SELECT $12, $13, $14, won.member_id, $15, $16::jsonb, $17 FROM won
)
SELECT (SELECT hits FROM budget) AS hits, won.id AS grant_id, won.auth_time, won.nonce,
       m.imis_id, s.sid
FROM (SELECT 1) AS one LEFT JOIN won ON true
LEFT JOIN member m ON m.id = won.member_id
LEFT JOIN auth_session s ON s.id = won.session_id
"""
# $18: grants.IN_FORCE's paid_through_from (the vendor's access rule, decided in the statement).
_CODE = grants.CODE_REDEEMABLE.format(
    code_hash="$19", vendor_id="$6", redirect_uri="$20", challenge="$21", now="$5",
    paid_through_from="$18",
)  # fmt: skip
# The code redeemed (grants.CODE_REDEEMABLE, the one rule of it), marked offline access when
# its scope holds offline_access ($22).
REDEEM = f"""
WITH usable AS (
    SELECT oidc_grant.id FROM oidc_grant WHERE {_CODE} FOR UPDATE
), {BUDGET}, won AS (
    UPDATE oidc_grant SET code_redeemed_at = $5, offline = oidc_grant.offline OR $22
    WHERE {_CODE} AND {WITHIN_BUDGET}
    RETURNING oidc_grant.id, oidc_grant.member_id, oidc_grant.session_id, oidc_grant.auth_time,
              oidc_grant.nonce
), {ISSUED}"""  # noqa: S608 - built from constant SQL; every value is a parameter
_REFRESH = grants.REFRESH_USABLE.format(
    token_hash="$19",  # noqa: S106 - a parameter's place, not a password
    vendor_id="$6",
    now="$5",
    paid_through_from="$18",
)
# The refresh token used up (grants.REFRESH_USABLE, the one rule of it).
REFRESH = f"""
WITH usable AS (
    SELECT oidc_token.id FROM oidc_token WHERE {_REFRESH} FOR UPDATE
), {BUDGET}, used AS (
    UPDATE oidc_token SET used_at = $5
    WHERE {_REFRESH} AND {WITHIN_BUDGET}
    RETURNING oidc_token.grant_id
), won AS (
    SELECT g.id, g.member_id, g.session_id, g.auth_time, g.nonce
    FROM oidc_grant g JOIN used ON g.id = used.grant_id
), {ISSUED}"""  # noqa: S608 - built from constant SQL; every value is a parameter


@dataclass(frozen=True, slots=True)
class TokenClient:
    """The vendor that calls, as the token endpoint's ordinary success reads it: a plain record
    (clients.Client, callers.Called)."""

    id: int
    key: str
    protocol: str
    enabled: bool
    public_client: bool
    refresh_tokens: bool
    scopes: str
    pairwise_subject: bool
    id_token_signed_response_alg: str


CLIENT_COLUMNS = tuple(TokenClient.__dataclass_fields__)


@dataclass(frozen=True)
class GrantFacts:
    """What the presented code's or refresh token's grant holds for good."""

    scope: str
    offline: bool
    session_expires_at: datetime | None


@dataclass(frozen=True)
class Found:
    client: TokenClient
    secrets: list[vendor_secrets.ActiveSecret]
    grant: GrantFacts | None  # None: no such code or refresh token of this client's


async def client(
    conn: Any, key: str, *, code: str | None = None, refresh_token: str | None = None
) -> Found | None:
    """The client `key` with its secrets, and the grant of the code or refresh token given."""
    row = await conn.fetchrow(
        CLIENT, key, digest(code) if code else None,
        digest(refresh_token) if refresh_token else None,
    )  # fmt: skip
    if row is None:
        return None
    found = TokenClient(*(row[name] for name in CLIENT_COLUMNS))
    grant = None
    if row["grant_scope"] is not None:
        grant = GrantFacts(row["grant_scope"], row["grant_offline"], row["session_expires_at"])
    return Found(found, vendor_secrets.active_in(row), grant)


@dataclass(frozen=True)
class Spending:
    """Whose budget the call spends, and how."""

    vendor_key: str
    public: bool  # only a call whose code or token is usable spends it
    per_minute: int


@dataclass(frozen=True)
class Used:
    hits: int | None  # the vendor's calls this minute, this one included (None: not counted)
    named: Named | None  # None: nothing was used (refused, or over the budget)


async def redeem(
    conn: Any,
    vendor_id: int,
    code: str,
    redirect_uri: str,
    challenge: str,
    *,
    offline: bool,
    spending: Spending,
    issue: Issue,
    event: audit.Entry,
    now: datetime,
) -> Used:
    """Redeem the code once (REDEEM), for this redirect URI and PKCE `challenge`."""
    return await _run(
        conn, REDEEM, vendor_id, spending, issue, event, now,
        digest(code), redirect_uri, challenge, offline,
    )  # fmt: skip


async def refresh(
    conn: Any,
    vendor_id: int,
    refresh_token: str,
    *,
    spending: Spending,
    issue: Issue,
    event: audit.Entry,
    now: datetime,
) -> Used:
    """Use the refresh token once (REFRESH)."""
    return await _run(conn, REFRESH, vendor_id, spending, issue, event, now, digest(refresh_token))


async def _run(
    conn: Any,
    statement: str,
    vendor_id: int,
    spending: Spending,
    issue: Issue,
    event: audit.Entry,
    now: datetime,
    *presented: Any,
) -> Used:
    row = await conn.fetchrow(
        statement,
        bucket_of_vendor(spending.vendor_key), rate_limits.window(now), spending.public,
        spending.per_minute, now, vendor_id,
        digest(issue.access_token), issue.scope, issue.access_until,
        digest(issue.refresh_token) if issue.refresh_token else None, issue.refresh_until,
        *audit.inserted_values(event), grants.paid_through_from(now),
        *presented,
    )  # fmt: skip
    if row["grant_id"] is None:
        return Used(row["hits"], None)
    audit.counted(event)
    return Used(row["hits"], Named(row["imis_id"], row["sid"], row["auth_time"], row["nonce"]))
