"""saml_service_provider.idp_initiated and idp_initiated_relay_state: a SAML vendor's members may
open it from "My sites", the portal posting an unsolicited Response (issue 24); off by default

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 22:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "saml_service_provider",
        sa.Column("idp_initiated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "saml_service_provider",
        sa.Column(
            "idp_initiated_relay_state",
            sqlmodel.sql.sqltypes.AutoString(length=1024),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("saml_service_provider", "idp_initiated_relay_state")
    op.drop_column("saml_service_provider", "idp_initiated")
