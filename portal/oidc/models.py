"""The OpenID Connect front end's own tables: grants and their tokens (portal/oidc/grants.py).
The rest of the portal never names them (tests/test_layout.py); importing `portal` imports every
front end, so Alembic and the drift test see them."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel, text

from portal.models import one_of, reference, timestamp

OIDC_TOKEN_KINDS = ("access", "refresh")


class OidcGrant(SQLModel, table=True):
    """One OpenID Connect authorization: its code, and then the family of tokens the code and
    their refreshes issued, revoked together (portal/oidc/grants.py)."""

    __tablename__ = "oidc_grant"
    __table_args__ = (
        CheckConstraint("code_expires_at > created_at", name="code_expires_after_issue"),
        # Staff ending all of a member's sessions revoke its grants (oidc/grant_revocation.py).
        Index("ix_oidc_grant_member_id", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Only a hash: a code read from the database cannot be redeemed.
    code_hash: str = Field(max_length=64, unique=True)
    vendor_id: int = reference("vendor")
    member_id: int = reference("member")
    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("auth_session.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    redirect_uri: str = Field(max_length=2048)
    scope: str = Field(max_length=1000)
    nonce: str | None = Field(default=None, max_length=512)
    code_challenge: str = Field(max_length=128)
    auth_time: datetime | None = timestamp()
    created_at: datetime | None = timestamp()
    code_expires_at: datetime | None = timestamp()
    code_redeemed_at: datetime | None = timestamp(nullable=True)
    revoked_at: datetime | None = timestamp(nullable=True)
    revoke_reason: str | None = Field(default=None, max_length=32)
    # Offline access (OpenID Connect Core §11): its refresh tokens outlive the portal session's
    # timeouts, with a lifetime of their own (docs/oidc.md). False: every token ends with it.
    offline: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})


class OidcToken(SQLModel, table=True):
    """An access or refresh token of a grant. A refresh token is used once (`used_at`): its
    successor replaces it, and a second use revokes the whole grant."""

    __tablename__ = "oidc_token"
    __table_args__ = (
        CheckConstraint(one_of("kind", OIDC_TOKEN_KINDS), name="kind_known"),
        CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    grant_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("oidc_grant.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=8)
    # What an access token gives: its grant's scope, perhaps narrowed at a refresh (RFC 6749
    # §6); None for a refresh token, which always carries the grant's whole scope.
    scope: str | None = Field(default=None, max_length=1000)
    issued_at: datetime | None = timestamp()
    expires_at: datetime | None = timestamp(index=True)  # the retention purge's look-up
    used_at: datetime | None = timestamp(nullable=True)
