"""vendor oidc answers: leave `iss` out of a vendor's authorization answers, and the algorithm
its ID tokens are signed with

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the rows already there: every vendor keeps today's answers (iss
    # sent, RS256), and the columns are added without rewriting the table.
    op.add_column(
        "vendor",
        sa.Column("omit_iss", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "vendor",
        sa.Column(
            "id_token_signed_response_alg",
            sqlmodel.sql.sqltypes.AutoString(length=8),
            server_default="RS256",
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_vendor_id_token_alg_known"),
        "vendor",
        "id_token_signed_response_alg IN ('RS256', 'ES256')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_vendor_id_token_alg_known"), "vendor", type_="check")
    op.drop_column("vendor", "id_token_signed_response_alg")
    op.drop_column("vendor", "omit_iss")
