"""Vendor API secrets: at most two active per vendor, so a vendor can rotate without downtime."""

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.crypto import digest, new_secret
from portal.errors import Conflict, NotFound
from portal.models import Vendor, VendorSecret, id_of

SLOTS = (1, 2)
LAST_USED_GRANULARITY = timedelta(minutes=1)


async def select_active(db: AsyncSession, vendor: Vendor) -> list[VendorSecret]:
    query = select(VendorSecret).where(
        VendorSecret.vendor_id == vendor.id, col(VendorSecret.revoked_at).is_(None)
    )
    return list(await db.exec(query.order_by(col(VendorSecret.created_at), col(VendorSecret.id))))


async def create(db: AsyncSession, vendor: Vendor) -> str:
    """A new active secret in a free slot; returns the only copy of it in clear."""
    taken = {row.slot for row in await select_active(db, vendor)}
    free = [slot for slot in SLOTS if slot not in taken]
    if not free:
        raise Conflict("this vendor already has two active secrets; revoke one first")
    secret = new_secret()
    db.add(VendorSecret(vendor_id=id_of(vendor), slot=free[0], secret_hash=digest(secret)))
    await db.flush()  # the partial unique index refuses a third active secret, even under a race
    return secret


async def displaced(db: AsyncSession, vendor: Vendor) -> VendorSecret | None:
    """The secret a rotation would revoke: the older of two active ones; none with a slot free."""
    active = await select_active(db, vendor)
    return active[0] if len(active) >= len(SLOTS) else None


async def rotate(db: AsyncSession, vendor: Vendor) -> str:
    """A new secret; when two are active already the older one is revoked, the newer kept."""
    older = await displaced(db, vendor)
    if older is not None:
        await revoke(db, vendor, older.id)
    return await create(db, vendor)


async def revoke(db: AsyncSession, vendor: Vendor, secret_id: int | None) -> None:
    result = await db.exec(
        update(VendorSecret)
        .where(
            col(VendorSecret.id) == secret_id,
            col(VendorSecret.vendor_id) == vendor.id,
            col(VendorSecret.revoked_at).is_(None),
        )
        .values(revoked_at=func.now())
    )
    if result.rowcount != 1:
        raise NotFound(f"{vendor.key} has no active secret #{secret_id}")


@dataclass(frozen=True)
class ActiveSecret:
    id: int
    secret_hash: str
    last_used_at: datetime | None


def matching(active: Sequence[ActiveSecret], secret: str) -> ActiveSecret | None:
    """The active secret equal to `secret`, compared in constant time against every one."""
    presented = digest(secret)
    found = None
    for candidate in active:
        if hmac.compare_digest(candidate.secret_hash, presented):
            found = candidate
    return found


async def mark_used(conn: Any, secret: ActiveSecret, when: datetime) -> None:
    """Record use at minute granularity: a write per API call would cost more than it tells
    (so this runs about once a minute, on the user service's raw connection)."""
    if secret.last_used_at is None or when - secret.last_used_at >= LAST_USED_GRANULARITY:
        await conn.execute(
            "UPDATE vendor_secret SET last_used_at = $1 WHERE id = $2", when, secret.id
        )


async def select_recent(db: AsyncSession, vendor: Vendor, limit: int = 10) -> list[VendorSecret]:
    """Active secrets first, then the most recently revoked ones."""
    query = (
        select(VendorSecret)
        .where(VendorSecret.vendor_id == vendor.id)
        .order_by(
            col(VendorSecret.revoked_at).is_not(None),
            col(VendorSecret.revoked_at).desc(),
            col(VendorSecret.created_at).desc(),
            col(VendorSecret.id).desc(),
        )
        .limit(limit)
    )
    return list(await db.exec(query))
