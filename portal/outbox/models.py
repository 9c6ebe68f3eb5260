"""The outbox table: one row per thing to deliver, of every kind (portal/outbox/queue.py)."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from portal.models import timestamp


class OutboxItem(SQLModel, table=True):
    """What a kind needs is in `payload` (mail: the message; logout: the `jti`); a logout notice
    also names its session and vendor, so it goes with either (ON DELETE CASCADE) and the
    dashboard finds a vendor's notices."""

    __tablename__ = "outbox"
    __table_args__ = (
        # Exactly one notice of a kind per session and vendor, however many times a session
        # "ends" (a vendor reached through two front ends gets each kind's); mail has neither
        # (NULLs are distinct).
        UniqueConstraint("kind", "session_id", "vendor_id"),
        CheckConstraint(
            "kind <> 'logout' OR (session_id IS NOT NULL AND vendor_id IS NOT NULL)",
            name="logout_names_session_and_vendor",
        ),
        CheckConstraint("delivered_at IS NULL OR failed_at IS NULL", name="one_outcome"),
        CheckConstraint("attempts >= 0", name="attempts_positive"),
        Index(
            "ix_outbox_due",
            "kind",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL AND failed_at IS NULL"),
        ),
        Index("ix_outbox_vendor_id_id", "vendor_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    # Keys a kind lists as spent (mail's bodies: they carry links) go once it is settled.
    payload: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    session_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("auth_session.id", ondelete="CASCADE"), nullable=True),
    )
    vendor_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("vendor.id", ondelete="CASCADE"), nullable=True),
    )
    created_at: datetime | None = timestamp()
    next_attempt_at: datetime | None = timestamp()
    # A claimed row is its worker's until then: one that died mid-delivery loses it after.
    leased_until: datetime | None = timestamp(nullable=True)
    # Each claim counts one; only the worker holding the latest attempt may settle it.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    delivered_at: datetime | None = timestamp(nullable=True)
    failed_at: datetime | None = timestamp(nullable=True)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
