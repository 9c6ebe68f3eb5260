"""The audit log: record(...) appends one event; the queries behind the audit views live here."""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal.models import AuditEvent

OUTCOMES = ("success", "failure")
# Keys that could carry a credential; refusing them here keeps secrets out of the log for good.
FORBIDDEN_DETAIL_WORDS = ("password", "secret", "token")


async def record(
    db: AsyncSession,
    event: str,
    outcome: str = "success",
    *,
    vendor_key: str | None = None,
    member_id: int | None = None,
    username: str | None = None,
    staff_email: str | None = None,
    client_address: str | None = None,
    **details: Any,
) -> AuditEvent:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    leaking = [key for key in details if any(word in key for word in FORBIDDEN_DETAIL_WORDS)]
    if leaking:
        raise ValueError(f"audit details must not carry credentials: {leaking}")
    row = AuditEvent(
        event=event,
        outcome=outcome,
        vendor_key=vendor_key,
        member_id=member_id,
        username=username[:254] if username else None,
        staff_email=staff_email,
        client_address=client_address,
        details=details,
    )
    db.add(row)
    return row
