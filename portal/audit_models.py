"""The audit log's tables: its events, their hash chain (portal/audit_chain.py), the checkpoint a
purge leaves and the runs of `portal audit verify`."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from portal.models import timestamp


class AuditEvent(SQLModel, table=True):
    """Append-only (a trigger refuses UPDATE and DELETE). Never a password or a raw token."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_event_id", "event", "id"),
        Index("ix_audit_event_vendor_key_id", "vendor_key", "id"),
        Index("ix_audit_event_member_id_id", "member_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    occurred_at: datetime | None = timestamp(default_now=True, index=True)
    event: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
    vendor_key: str | None = Field(default=None, max_length=63)
    member_id: int | None = None
    username: str | None = Field(default=None, max_length=254)
    staff_email: str | None = Field(default=None, max_length=254)
    client_address: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    # The request that caused it (X-Request-ID, and every log line of that request); None
    # outside a request (the command line, the maintenance loop) and before migration 0004.
    request_id: str | None = Field(default=None, max_length=128)


HASH_HEX = "~ '^[0-9a-f]{64}$'"


class AuditSeal(SQLModel, table=True):
    """One link of the audit log's hash chain: the event at chain position `seq`, and a hash of
    its content and of every link before it. Append-only (a trigger); see portal/audit_chain.py."""

    __tablename__ = "audit_seal"
    __table_args__ = (CheckConstraint(f"hash {HASH_HEX}", name="hash_hex"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # No foreign key: a deleted event must leave its seal behind, as the evidence.
    event_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    hash: str = Field(max_length=64)
    sealed_at: datetime | None = timestamp()


class AuditCheckpoint(SQLModel, table=True):
    """The last link removed by `portal audit purge`: the chain goes on from it. One row."""

    __tablename__ = "audit_checkpoint"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(f"hash {HASH_HEX}", name="hash_hex"),
    )

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(sa_type=BigInteger)
    event_id: int = Field(sa_type=BigInteger)
    hash: str = Field(max_length=64)
    purged_before: datetime | None = timestamp()
    purged_at: datetime | None = timestamp()


class AuditVerification(SQLModel, table=True):
    """One run of `portal audit verify`: what it found, and the head of the chain it saw."""

    __tablename__ = "audit_verification"

    id: int | None = Field(default=None, primary_key=True)
    verified_at: datetime | None = timestamp()
    ok: bool
    events: int = Field(sa_type=BigInteger)
    head_seq: int = Field(sa_type=BigInteger)
    head_hash: str = Field(max_length=64)
    problem_kind: str | None = Field(default=None, max_length=16)
    problem_event_id: int | None = Field(default=None, sa_type=BigInteger)
    problem: str | None = Field(default=None, max_length=500)
