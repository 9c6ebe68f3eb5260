"""vendor access rule: who may use a vendor's site (issue 25) — members in good standing only,
and/or chosen member types and statuses; every vendor stays open to everyone who signs in

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 01:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "vendor",
        sa.Column("access_good_standing", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    for name in ("access_member_types", "access_statuses"):
        op.add_column(
            "vendor",
            sa.Column(name, postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        )


def downgrade() -> None:
    for name in ("access_statuses", "access_member_types", "access_good_standing"):
        op.drop_column("vendor", name)
