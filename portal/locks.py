"""Advisory locks that keep a background job to one runner at a time, across every worker and
host on the database. Transaction-scoped: a crashed runner's lock goes with its transaction."""

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

# Fixed 64-bit keys, "portal" in ASCII then a job number, so no other application's lock can
# collide with ours by accident.
AUDIT_CHAIN = 0x706F7274616C0001  # sealing, verifying and purging the audit chain
RETENTION = 0x706F7274616C0002  # deleting expired tokens, sessions and counters


async def take(db: AsyncSession, key: int, *, wait: bool) -> bool:
    """Hold `key` until this transaction ends. Without `wait`, False when another holds it."""
    if wait:
        await db.exec(select(func.pg_advisory_xact_lock(key)))
        return True
    return bool((await db.exec(select(func.pg_try_advisory_xact_lock(key)))).one())
