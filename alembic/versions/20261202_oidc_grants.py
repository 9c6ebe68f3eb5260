"""oidc grants: OpenID Connect authorization codes and the token families they start

Revision ID: oidc_0001
Revises: 0006
Create Date: 2026-12-02 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "oidc_0001"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.Column("code_challenge", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code_redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.CheckConstraint(
            "code_expires_at > created_at", name=op.f("ck_oidc_grant_code_expires_after_issue")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_oidc_grant_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_oidc_grant_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_oidc_grant_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_grant")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_oidc_grant_code_hash")),
    )
    op.create_index(op.f("ix_oidc_grant_session_id"), "oidc_grant", ["session_id"], unique=False)
    op.create_table(
        "oidc_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('access', 'refresh')", name=op.f("ck_oidc_token_kind_known")),
        sa.CheckConstraint(
            "expires_at > issued_at", name=op.f("ck_oidc_token_expires_after_issue")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["oidc_grant.id"],
            name=op.f("fk_oidc_token_grant_id_oidc_grant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_oidc_token_token_hash")),
    )
    op.create_index(op.f("ix_oidc_token_grant_id"), "oidc_token", ["grant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_oidc_token_grant_id"), table_name="oidc_token")
    op.drop_table("oidc_token")
    op.drop_index(op.f("ix_oidc_grant_session_id"), table_name="oidc_grant")
    op.drop_table("oidc_grant")
