"""Helpers for the audit chain tests: events, sealing and verifying in their own transactions,
and an attacker with full SQL access to the database."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from portal import audit_chain
from portal.audit_models import AuditEvent
from tests.flows import unit_of_work

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def add_events(url: str, n: int, *, at: datetime = NOW, **values: Any) -> list[int]:
    """n committed events, a second apart, ending at `at`."""
    async with unit_of_work(url) as session:
        rows = [
            AuditEvent(
                **({"event": "sign_in", "outcome": "success", "details": {"i": i}} | values),
                occurred_at=at - timedelta(seconds=n - 1 - i),
            )
            for i in range(n)
        ]
        session.add_all(rows)
        await session.flush()
        return [int(row.id or 0) for row in rows]


async def seal(url: str, now: datetime = NOW) -> int | None:
    async with unit_of_work(url) as session:
        return await audit_chain.seal(session, now=now)


async def verify(url: str, now: datetime = NOW) -> audit_chain.Report:
    async with unit_of_work(url) as session:
        return await audit_chain.verify(session, now=now)


async def tamper(url: str, *statements: str) -> None:
    """What someone who can run SQL as the portal's owner can do: switch the append-only
    triggers off, change anything, switch them on again."""
    tables = ("audit_event", "audit_seal", "audit_checkpoint", "audit_verification")
    async with unit_of_work(url) as session:
        for table in tables:
            await session.exec(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))  # type: ignore[call-overload]
        for statement in statements:
            await session.exec(text(statement))  # type: ignore[call-overload]
        for table in tables:
            await session.exec(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))  # type: ignore[call-overload]


async def scalar(url: str, sql: str) -> Any:
    async with unit_of_work(url) as session:
        return (await session.exec(text(sql))).scalar()  # type: ignore[call-overload]
