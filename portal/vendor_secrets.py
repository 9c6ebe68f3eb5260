"""Vendor API secrets: at most two active per vendor, so a vendor can rotate without downtime."""

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import front_ends
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
    """A new active secret in a free slot; returns the only copy of it in clear. Refused for a
    vendor whose front end never uses one (SAML): an unused secret is only one more to leak."""
    front_end = front_ends.named(vendor.protocol)
    if not front_end.vendor_settings.api_secrets:
        raise Conflict(f"{vendor.name} signs in with {front_end.label}, which uses no API secret")
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


# A vendor's active secrets as three arrays of one row, by id (ActiveSecret's fields, read back
# by active_in()): for the raw statements that read a vendor with its secrets in one round trip
# (enhanced/vendor_records.FOR_THE_API, the OpenID Connect token endpoint's CLIENT). The vendor's
# table is aliased `v` there.
ACTIVE_COLUMNS = """ARRAY(SELECT s.id FROM vendor_secret s
             WHERE s.vendor_id = v.id AND s.revoked_at IS NULL ORDER BY s.id) AS secret_ids,
       ARRAY(SELECT s.secret_hash FROM vendor_secret s
             WHERE s.vendor_id = v.id AND s.revoked_at IS NULL ORDER BY s.id) AS secret_hashes,
       ARRAY(SELECT s.last_used_at FROM vendor_secret s
             WHERE s.vendor_id = v.id AND s.revoked_at IS NULL ORDER BY s.id) AS secrets_used"""


def active_in(row: Mapping[str, Any]) -> list[ActiveSecret]:
    """The active secrets a row with ACTIVE_COLUMNS holds."""
    return [
        ActiveSecret(*values)
        for values in zip(row["secret_ids"], row["secret_hashes"], row["secrets_used"], strict=True)
    ]


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
