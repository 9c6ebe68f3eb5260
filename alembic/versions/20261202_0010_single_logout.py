"""single logout: vendors' back- and front-channel logout URLs, the logout delivery outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

URL = sqlmodel.sql.sqltypes.AutoString(length=2048)
STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("vendor", sa.Column("backchannel_logout_url", URL, nullable=True))
    op.add_column(
        "vendor",
        sa.Column(
            "backchannel_logout_session_required",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    op.add_column("vendor", sa.Column("frontchannel_logout_url", URL, nullable=True))
    op.create_table(
        "logout_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column(
            "jti",
            sqlmodel.sql.sqltypes.AutoString(length=64),
            server_default=sa.text("replace(gen_random_uuid()::text, '-', '')"),
            nullable=False,
        ),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("next_attempt_at", STAMP, nullable=False),
        sa.Column("leased_until", STAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("delivered_at", STAMP, nullable=True),
        sa.Column("failed_at", STAMP, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.CheckConstraint(
            "delivered_at IS NULL OR failed_at IS NULL", name=op.f("ck_logout_delivery_one_outcome")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_logout_delivery_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_logout_delivery_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_logout_delivery_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logout_delivery")),
        sa.UniqueConstraint("jti", name=op.f("uq_logout_delivery_jti")),
        sa.UniqueConstraint(
            "session_id", "vendor_id", name=op.f("uq_logout_delivery_session_id_vendor_id")
        ),
    )
    op.create_index(
        "ix_logout_delivery_due",
        "logout_delivery",
        ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
    )
    op.create_index("ix_logout_delivery_vendor_id_id", "logout_delivery", ["vendor_id", "id"])


def downgrade() -> None:
    op.drop_table("logout_delivery")
    op.drop_column("vendor", "frontchannel_logout_url")
    op.drop_column("vendor", "backchannel_logout_session_required")
    op.drop_column("vendor", "backchannel_logout_url")
