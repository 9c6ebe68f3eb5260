"""staff two-factor sign-in: a TOTP secret and its last accepted step per staff account,
single-use recovery codes, and sessions that still await their second factor

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "staff",
        sa.Column("totp_secret", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    op.add_column(
        "staff", sa.Column("totp_confirmed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("staff", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column(
        "auth_session",
        sa.Column(
            "awaiting_second_factor", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.create_table(
        "staff_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_staff_recovery_code_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_code")),
        sa.UniqueConstraint(
            "staff_id", "code_hash", name=op.f("uq_staff_recovery_code_staff_id_code_hash")
        ),
    )


def downgrade() -> None:
    op.drop_table("staff_recovery_code")
    op.drop_column("auth_session", "awaiting_second_factor")
    op.drop_column("staff", "totp_last_step")
    op.drop_column("staff", "totp_confirmed_at")
    op.drop_column("staff", "totp_secret")
