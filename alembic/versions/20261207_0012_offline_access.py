"""offline access: OpenID Connect grants that outlive their portal session, access tokens that
carry their own (narrowed) scope

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Grants made before this revision keep their rule: every token ends with the session.
    op.add_column(
        "oidc_grant",
        sa.Column("offline", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index("ix_oidc_grant_member_id", "oidc_grant", ["member_id"], unique=False)
    # NULL: the grant's scope, what every access token issued before this revision gave.
    op.add_column(
        "oidc_token",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    )
    op.create_index(op.f("ix_oidc_token_expires_at"), "oidc_token", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_oidc_token_expires_at"), table_name="oidc_token")
    op.drop_column("oidc_token", "scope")
    op.drop_index("ix_oidc_grant_member_id", table_name="oidc_grant")
    op.drop_column("oidc_grant", "offline")
