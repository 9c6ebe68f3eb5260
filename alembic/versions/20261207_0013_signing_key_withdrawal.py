"""signing keys: their public parts stored (the key set is served without opening a private
key), withdrawal; the stored secrets table (the pairwise key, independent of PORTAL_SECRET_KEY)

Existing keys get their public part the first time the portal loads them (a migration cannot
open them: it has no secret key); the pairwise key is stored the first time it is needed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("signing_key", sa.Column("public_jwk", sa.Text(), nullable=True))
    op.add_column(
        "signing_key", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_signing_key_withdrawn_unpublished"),
        "signing_key",
        "withdrawn_at IS NULL OR (retires_at IS NOT NULL AND retires_at <= withdrawn_at)",
    )
    op.create_table(
        "stored_secret",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stored_secret")),
    )


def downgrade() -> None:
    op.drop_table("stored_secret")
    op.drop_constraint(op.f("ck_signing_key_withdrawn_unpublished"), "signing_key", type_="check")
    op.drop_column("signing_key", "withdrawn_at")
    op.drop_column("signing_key", "public_jwk")
