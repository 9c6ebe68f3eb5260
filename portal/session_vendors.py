"""Which vendors a portal session reached, and through which front end (Keycloak's "client
sessions"): one row per session, vendor and front end in `session_vendor`, written by the front
end as it issues to the vendor — the Enhanced token's statement (portal/enhanced/tokens.py), the
OpenID Connect code's transaction (`record`) — and read by everyone who asks: the live sessions
staff see (portal/auth/sessions.py), single logout (portal/single_logout.py), the overview. The
rows go with their session, so they say it for as long as the session is kept."""

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from portal.models import SessionVendor, Vendor


async def record(
    db: AsyncSession, session_id: int, vendor_id: int, front_end: str, *, now: datetime
) -> None:
    """The session reached the vendor now, in the caller's transaction: the first time makes the
    row, every later one moves its `last_at` on."""
    statement = insert(SessionVendor).values(
        session_id=session_id, vendor_id=vendor_id, front_end=front_end, first_at=now, last_at=now
    )
    await db.exec(
        statement.on_conflict_do_update(
            index_elements=["session_id", "vendor_id", "front_end"],
            # Two requests of one session at once may commit out of order: last_at never goes back.
            set_={"last_at": func.greatest(SessionVendor.last_at, statement.excluded.last_at)},
        )
    )


def reached_vendor_ids(session_id: int) -> SelectOfScalar[int]:
    """The ids of the vendors a session reached, through any front end (redeemed or not: a
    vendor told of a sign-out it never completed loses nothing)."""
    return select(col(SessionVendor.vendor_id)).where(col(SessionVendor.session_id) == session_id)


async def vendors_used(db: AsyncSession, session_ids: list[int]) -> dict[int, list[Vendor]]:
    """{session id: the vendors it reached, by name}."""
    if not session_ids:
        return {}
    query = (
        select(col(SessionVendor.session_id), Vendor)
        .join(Vendor, col(Vendor.id) == col(SessionVendor.vendor_id))
        .where(col(SessionVendor.session_id).in_(session_ids))
        .distinct()
        .order_by(col(SessionVendor.session_id), col(Vendor.name))
    )
    used: dict[int, list[Vendor]] = {}
    for session_id, vendor in await db.exec(query):
        used.setdefault(session_id, []).append(vendor)
    return used
