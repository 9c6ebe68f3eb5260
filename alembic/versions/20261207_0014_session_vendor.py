"""session_vendor: which vendors each portal session reached, and through which front end, in
one table every reader shares (the live sessions, single logout, the overview); backfilled from
the Enhanced tokens and the OpenID Connect grants that said it until now

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
INSERT INTO session_vendor (session_id, vendor_id, front_end, first_at, last_at)
SELECT session_id, vendor_id, 'enhanced', min(issued_at), max(issued_at)
FROM sso_token GROUP BY session_id, vendor_id
UNION ALL
SELECT session_id, vendor_id, 'oidc', min(created_at), max(created_at)
FROM oidc_grant GROUP BY session_id, vendor_id
"""


def upgrade() -> None:
    op.create_table(
        "session_vendor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("front_end", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "front_end IN ('enhanced', 'oidc')", name=op.f("ck_session_vendor_front_end_known")
        ),
        sa.CheckConstraint("last_at >= first_at", name=op.f("ck_session_vendor_last_after_first")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_session_vendor_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_session_vendor_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_vendor")),
        sa.UniqueConstraint(
            "session_id",
            "vendor_id",
            "front_end",
            name=op.f("uq_session_vendor_session_id_vendor_id_front_end"),
        ),
    )
    op.create_index(
        op.f("ix_session_vendor_vendor_id"), "session_vendor", ["vendor_id"], unique=False
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index(op.f("ix_session_vendor_vendor_id"), table_name="session_vendor")
    op.drop_table("session_vendor")
