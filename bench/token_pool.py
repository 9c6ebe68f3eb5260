"""One-time tokens written straight into the database, stored as the portal stores them (the
SHA-256 hex of the raw token in sso_token.token_hash, bound to a vendor, a member and that
member's portal session), so that the redemption phase has a fresh token for every request
however fast the portal gets. Plain SQL: no portal code is imported."""

import hashlib
import secrets

import asyncpg  # type: ignore[import-untyped]
from portal_process import Seed

# The run's members' open sessions: what a silent re-issue would bind its tokens to.
SESSIONS = """
SELECT s.id, s.member_id FROM auth_session s JOIN member m ON m.id = s.member_id
WHERE m.username = ANY($1::text[]) AND s.ended_at IS NULL ORDER BY s.id DESC
"""
INSERT = """
INSERT INTO sso_token (token_hash, vendor_id, member_id, session_id, issued_at, expires_at)
SELECT hash, (SELECT id FROM vendor WHERE key = $2), member_id, session_id,
       now(), now() + make_interval(secs => $5)
FROM unnest($1::text[], $3::int[], $4::int[]) AS t(hash, member_id, session_id)
"""
REDEEMED = """
SELECT count(*) FROM sso_token WHERE token_hash = ANY($1::text[]) AND redeemed_at IS NOT NULL
"""
PASSWORD_HASH = "SELECT password_hash FROM member WHERE username = $1"


def dsn(url: str) -> str:
    """asyncpg takes postgresql:// but not SQLAlchemy's postgresql+asyncpg://."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+')[0]}://{rest}"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue(
    url: str, seed: Seed, count: int, raced: int, ttl: int
) -> tuple[list[str], list[str]]:
    """`count` fresh raw tokens spread over the members' open sessions, and `raced` more, each
    bound to one of the `raced` newest sessions alone: a replay ends the session its token came
    from and voids that session's other tokens, so no raced token may share a session."""
    connection = await asyncpg.connect(dsn(url))
    try:
        sessions = await connection.fetch(SESSIONS, seed.usernames)
        if len(sessions) <= raced:
            raise SystemExit(f"bench: tokens need more than {raced} open member sessions")
        pool = await insert(connection, seed, count, sessions[raced:], ttl)
        racing = await insert(connection, seed, raced, sessions[:raced], ttl)
    finally:
        await connection.close()
    return pool, racing


async def insert(
    connection: asyncpg.Connection, seed: Seed, count: int, sessions: list[asyncpg.Record], ttl: int
) -> list[str]:
    raws = [secrets.token_urlsafe(32) for _ in range(count)]
    bound = [sessions[n % len(sessions)] for n in range(count)]
    await connection.execute(
        INSERT,
        [digest(raw) for raw in raws],
        seed.vendor,
        [row["member_id"] for row in bound],
        [row["id"] for row in bound],
        float(ttl),
    )
    return raws


async def redeemed(url: str, raws: list[str]) -> int:
    """How many of these tokens the database holds as redeemed."""
    connection = await asyncpg.connect(dsn(url))
    try:
        count: int = await connection.fetchval(REDEEMED, [digest(raw) for raw in raws])
    finally:
        await connection.close()
    return count


async def password_hash(url: str, username: str) -> str:
    """The member's stored argon2id hash: the raw verify rate is measured on it, so with the
    parameters the portal really uses."""
    connection = await asyncpg.connect(dsn(url))
    try:
        found: str = await connection.fetchval(PASSWORD_HASH, username)
    finally:
        await connection.close()
    return found
