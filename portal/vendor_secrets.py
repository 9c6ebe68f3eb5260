"""Vendor API secrets: at most two active per vendor, so a vendor can rotate without downtime."""

import hmac
from datetime import datetime, timedelta

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


async def rotate(db: AsyncSession, vendor: Vendor) -> str:
    """A new secret; when two are active already the older one is revoked, the newer kept."""
    active = await select_active(db, vendor)
    if len(active) >= len(SLOTS):
        await revoke(db, vendor, active[0].id)
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
        raise NotFound("no such active secret for this vendor")


async def matching_secret(db: AsyncSession, vendor: Vendor, secret: str) -> VendorSecret | None:
    """The active secret equal to `secret`, compared in constant time against every one."""
    presented = digest(secret)
    found = None
    for row in await select_active(db, vendor):
        if hmac.compare_digest(row.secret_hash, presented):
            found = row
    return found


async def mark_used(db: AsyncSession, row: VendorSecret, when: datetime) -> None:
    """Record use at minute granularity: a write per API call would cost more than it tells."""
    if row.last_used_at is None or when - row.last_used_at >= LAST_USED_GRANULARITY:
        row.last_used_at = when
        db.add(row)


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
