"""Per-minute rate windows held in Postgres (shared by every worker), and the client network a
rate or a throttle counts against."""

import ipaddress
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.models import RateCounter

TABLE = RateCounter.__table__  # type: ignore[attr-defined]


def client_network(address: str | None) -> str:
    """What counts as one client: an IPv4 address, or an IPv6 /64 — one subscriber is handed a
    whole /64, so counting single IPv6 addresses would give an attacker 2^64 fresh budgets."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return (address or "unknown")[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


async def hit(db: AsyncSession, bucket: str, *, now: datetime) -> int:
    """Count one call in this minute's window for `bucket`, in one statement; returns the
    window's count so far. Past windows are the retention purge's to delete."""
    statement = (
        insert(TABLE)
        .values(bucket=bucket, window_start=window(now), hits=1)
        .on_conflict_do_update(
            index_elements=["bucket", "window_start"], set_={"hits": TABLE.c.hits + 1}
        )
        .returning(TABLE.c.hits)
    )
    return int((await db.exec(statement)).scalar_one())


def window(now: datetime) -> datetime:
    """The start of the minute's window `now` counts in (the raw hot-path statements count in it
    too)."""
    return now.replace(second=0, microsecond=0)


def retry_after(now: datetime) -> int:
    """Seconds until this minute's window ends (for Retry-After)."""
    return max(1, 60 - now.second)
