"""audit request id: the request that caused an event (X-Request-ID, the request's log lines)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: adding it rewrites no row, and sealed events keep their hashes.
    op.add_column(
        "audit_event",
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("audit_event", "request_id")
