"""saml_session_name_id: the NameID each portal session's assertion to a SAML vendor carried, so
single logout names the member as the vendor was told (issue 24)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 21:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saml_session_name_id",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("name_id", sa.Text(), nullable=False),
        sa.Column("nameid_format", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_saml_session_name_id_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_saml_session_name_id_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "vendor_id", name=op.f("pk_saml_session_name_id")),
    )


def downgrade() -> None:
    op.drop_table("saml_session_name_id")
