"""The core's tables (portal/auth/): the sessions it starts and ends, the sign-in throttle, and
staff's single-use recovery codes."""

import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from portal.models import one_of, reference, timestamp

THROTTLE_SCOPES = ("account", "address")


class StaffRecoveryCode(SQLModel, table=True):
    """A single-use code that stands in for a two-factor code; only its digest is kept."""

    __tablename__ = "staff_recovery_code"
    __table_args__ = (UniqueConstraint("staff_id", "code_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = reference("staff")
    code_hash: str = Field(max_length=64)
    created_at: datetime | None = timestamp(default_now=True)
    used_at: datetime | None = timestamp(nullable=True)


class AuthSession(SQLModel, table=True):
    """A signed-in browser: a member's portal session or a staff session, never both."""

    __tablename__ = "auth_session"
    __table_args__ = (
        CheckConstraint("(member_id IS NULL) <> (staff_id IS NULL)", name="one_subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The cookie holds a random id; only its hash is stored, so a database leak opens no sessions.
    id_hash: str = Field(max_length=64, unique=True)
    # The session's public name in tokens (OpenID Connect `sid`): random, and never the cookie's.
    sid: str = Field(
        default_factory=lambda: secrets.token_hex(16),
        max_length=32,
        unique=True,
        sa_column_kwargs={"server_default": text("replace(gen_random_uuid()::text, '-', '')")},
    )
    member_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), index=True),
    )
    staff_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), index=True),
    )
    created_at: datetime | None = timestamp(default_now=True)
    last_seen_at: datetime | None = timestamp(default_now=True)
    expires_at: datetime | None = timestamp()
    ended_at: datetime | None = timestamp(nullable=True)
    end_reason: str | None = Field(default=None, max_length=32)
    client_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=400)
    # Set by a sign-in made for a vendor's request; the first token issued clears it, so only
    # that token is audited as not silent.
    fresh_sign_in: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    # A staff sign-in whose password was right and whose two-factor code is still due: no
    # dashboard page accepts it (portal/admin/access.py), only the code's page.
    awaiting_second_factor: bool = Field(
        default=False, sa_column_kwargs={"server_default": text("false")}
    )


class SignInThrottle(SQLModel, table=True):
    __tablename__ = "sign_in_throttle"
    __table_args__ = (
        UniqueConstraint("scope", "subject"),
        CheckConstraint(one_of("scope", THROTTLE_SCOPES), name="scope_known"),
        CheckConstraint("consecutive_failures >= 0", name="failures_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16)
    subject: str = Field(max_length=300)
    consecutive_failures: int = 0
    blocked_until: datetime | None = timestamp(nullable=True)
    last_failure_at: datetime | None = timestamp(nullable=True)
