"""The Enhanced SSO front end's own table: its one-time tokens (portal/enhanced/tokens.py). The
rest of the portal never names it (tests/test_layout.py); importing `portal` imports every front
end, so Alembic and the drift test see it."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from portal.models import reference, timestamp


class SsoToken(SQLModel, table=True):
    __tablename__ = "sso_token"
    __table_args__ = (CheckConstraint("expires_at > issued_at", name="expires_after_issue"),)

    id: int | None = Field(default=None, primary_key=True)
    # Only a hash: a token read from the database cannot be redeemed.
    token_hash: str = Field(max_length=64, unique=True)
    vendor_id: int = reference("vendor")
    member_id: int = reference("member")
    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("auth_session.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    issued_at: datetime | None = timestamp(default_now=True)
    expires_at: datetime | None = timestamp()
    redeemed_at: datetime | None = timestamp(nullable=True)
    voided_at: datetime | None = timestamp(nullable=True)
