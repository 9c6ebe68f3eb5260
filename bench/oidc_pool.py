"""OpenID Connect grants written straight into the database, stored as the portal stores them
(portal/oidc/grants.py: the SHA-256 hex of each raw code or token, a grant bound to the vendor, a
member and that member's open portal session), so that the code exchange and the refresh grant
have a fresh code or refresh token for every request, and UserInfo live access tokens. Each raw
code or token has a grant of its own: a replay revokes its grant's whole family, and must not
void the pool's other tokens. Plain SQL: no portal code is imported."""

import base64
import hashlib
import secrets
from dataclasses import dataclass

import asyncpg  # type: ignore[import-untyped]
from portal_process import Seed
from token_pool import SESSIONS, digest, dsn

REDIRECT_URI = "http://localhost:9/callback"
SCOPE = "openid profile email"
# RFC 7636: one verifier for every code (43-128 unreserved characters); the portal stores the
# S256 challenge.
VERIFIER = "bench-code-verifier-" + "v" * 30
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
GRANTS = """
INSERT INTO oidc_grant (code_hash, vendor_id, member_id, session_id, redirect_uri, scope,
                        code_challenge, auth_time, created_at, code_expires_at, code_redeemed_at)
SELECT hash, (SELECT id FROM vendor WHERE key = $2), member_id, session_id, $5, $6, $7,
       now(), now(), now() + make_interval(secs => $8), CASE WHEN $9 THEN now() END
FROM unnest($1::text[], $3::int[], $4::int[]) AS t(hash, member_id, session_id)
RETURNING id, code_hash
"""
TOKENS = """
INSERT INTO oidc_token (token_hash, grant_id, kind, scope, issued_at, expires_at)
SELECT hash, grant_id, $3, $4, now(), now() + make_interval(secs => $5)
FROM unnest($1::text[], $2::int[]) AS t(hash, grant_id)
"""
CODES_REDEEMED = """
SELECT count(*) FROM oidc_grant WHERE code_hash = ANY($1::text[]) AND code_redeemed_at IS NOT NULL
"""
TOKENS_USED = (
    "SELECT count(*) FROM oidc_token WHERE token_hash = ANY($1::text[]) AND used_at IS NOT NULL"
)


@dataclass(frozen=True)
class Pool:
    """Raw codes or tokens: `pool` for the load, each used once (or in turn, for access
    tokens); `racing` for the double-use check, each to be posted twice at once."""

    pool: list[str]
    racing: list[str]


async def issue(url: str, seed: Seed, kind: str, count: int, raced: int, ttl: int) -> Pool:
    """`count` + `raced` fresh grants of the run's OIDC vendor spread over the members' open
    sessions, each giving one raw secret of `kind`: its code (`code`), or a refresh or access
    token of a grant whose code was redeemed."""
    connection = await asyncpg.connect(dsn(url))
    try:
        sessions = await connection.fetch(SESSIONS, seed.usernames)
        if not sessions:
            raise SystemExit("bench: OpenID Connect grants need open member sessions")
        raws = [secrets.token_urlsafe(32) for _ in range(count + raced)]
        await insert(connection, seed, kind, raws, sessions, ttl)
    finally:
        await connection.close()
    return Pool(raws[:count], raws[count:])


async def insert(
    connection: asyncpg.Connection,
    seed: Seed,
    kind: str,
    raws: list[str],
    sessions: list[asyncpg.Record],
    ttl: int,
) -> None:
    bound = [sessions[n % len(sessions)] for n in range(len(raws))]
    codes = raws if kind == "code" else [secrets.token_urlsafe(32) for _ in raws]
    async with connection.transaction():
        grants = await connection.fetch(
            GRANTS,
            [digest(code) for code in codes],
            seed.oidc_vendor,
            [row["member_id"] for row in bound],
            [row["id"] for row in bound],
            REDIRECT_URI,
            SCOPE,
            CHALLENGE.decode(),
            float(ttl),
            kind != "code",  # a grant with tokens had its code redeemed
        )
        if kind == "code":
            return
        by_hash = {row["code_hash"]: row["id"] for row in grants}
        grant_ids = [by_hash[digest(code)] for code in codes]
        scope = SCOPE if kind == "access" else None  # a refresh token carries the grant's
        hashes = [digest(raw) for raw in raws]
        await connection.execute(TOKENS, hashes, grant_ids, kind, scope, float(ttl))


async def used(url: str, kind: str, raws: list[str]) -> int:
    """How many of these codes the database holds as redeemed, or refresh tokens as used."""
    connection = await asyncpg.connect(dsn(url))
    try:
        query = CODES_REDEEMED if kind == "code" else TOKENS_USED
        count: int = await connection.fetchval(query, [digest(raw) for raw in raws])
    finally:
        await connection.close()
    return count
