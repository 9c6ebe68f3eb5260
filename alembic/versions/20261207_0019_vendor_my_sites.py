"""vendor.my_sites: how a vendor appears on members' "My sites" — shown (as before), a greyed
"coming soon" tile, or hidden (issue 25); every vendor stays shown

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "vendor",
        sa.Column(
            "my_sites",
            sqlmodel.sql.sqltypes.AutoString(length=16),
            server_default="shown",
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_vendor_my_sites_known"),
        "vendor",
        "my_sites IN ('shown', 'coming-soon', 'hidden')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_vendor_my_sites_known"), "vendor", type_="check")
    op.drop_column("vendor", "my_sites")
