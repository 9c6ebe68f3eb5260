"""oidc base: vendor protocol and client settings, redirect URIs, signing keys, session sid

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANDOM_SID = sa.text("replace(gen_random_uuid()::text, '-', '')")


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    op.add_column(
        "vendor",
        sa.Column("protocol", string(length=16), server_default="enhanced", nullable=False),
    )
    op.alter_column("vendor", "token_url", existing_type=string(length=2048), nullable=True)
    op.create_check_constraint(
        "ck_vendor_protocol_known", "vendor", "protocol IN ('enhanced', 'oidc')"
    )
    op.create_check_constraint(
        "ck_vendor_token_url_set", "vendor", "protocol <> 'enhanced' OR token_url IS NOT NULL"
    )
    for column in ("public_client", "refresh_tokens", "pairwise_subject"):
        op.add_column(
            "vendor",
            sa.Column(column, sa.Boolean(), server_default=sa.text("false"), nullable=False),
        )
    op.add_column(
        "vendor",
        sa.Column(
            "scopes", string(length=200), server_default="openid profile email", nullable=False
        ),
    )
    op.create_table(
        "vendor_redirect_uri",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("kind", string(length=16), nullable=False),
        sa.Column("uri", string(length=2048), nullable=False),
        sa.CheckConstraint(
            "kind IN ('login', 'post_logout')", name=op.f("ck_vendor_redirect_uri_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_vendor_redirect_uri_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_redirect_uri")),
        sa.UniqueConstraint(
            "vendor_id", "kind", "uri", name=op.f("uq_vendor_redirect_uri_vendor_id_kind_uri")
        ),
    )
    op.create_table(
        "signing_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", string(length=64), nullable=False),
        sa.Column("alg", string(length=8), nullable=False),
        sa.Column("sealed_jwk", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("signs_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("alg IN ('RS256', 'ES256')", name=op.f("ck_signing_key_alg_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_key_kid")),
    )
    op.create_index(
        "uq_signing_key_newest_alg",
        "signing_key",
        ["alg"],
        unique=True,
        postgresql_where=sa.text("retires_at IS NULL"),
    )
    op.add_column(
        "auth_session",
        sa.Column("sid", string(length=32), server_default=RANDOM_SID, nullable=False),
    )
    op.create_unique_constraint(op.f("uq_auth_session_sid"), "auth_session", ["sid"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_auth_session_sid"), "auth_session", type_="unique")
    op.drop_column("auth_session", "sid")
    op.drop_index("uq_signing_key_newest_alg", table_name="signing_key")
    op.drop_table("signing_key")
    op.drop_table("vendor_redirect_uri")
    op.drop_column("vendor", "scopes")
    for column in ("pairwise_subject", "refresh_tokens", "public_client"):
        op.drop_column("vendor", column)
    op.drop_constraint("ck_vendor_token_url_set", "vendor", type_="check")
    op.drop_constraint("ck_vendor_protocol_known", "vendor", type_="check")
    op.execute("DELETE FROM vendor WHERE token_url IS NULL")
    op.alter_column(
        "vendor",
        "token_url",
        existing_type=sqlmodel.sql.sqltypes.AutoString(length=2048),
        nullable=False,
    )
    op.drop_column("vendor", "protocol")
