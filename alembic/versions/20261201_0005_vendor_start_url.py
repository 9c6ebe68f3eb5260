"""vendor start url: the vendor's page that starts a sign-in, for the portal's "My sites"

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 13:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "vendor",
        sa.Column("start_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("vendor", "start_url")
