"""saml_service_provider: a SAML 2.0 vendor's service provider (issue 24) — what its metadata
said and what the association chose — and 'saml' as a vendor's protocol and a session_vendor's
front end

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)
WITH_SAML = "('enhanced', 'oidc', 'saml')"
WITHOUT_SAML = "('enhanced', 'oidc')"


def _json_list(name: str) -> sa.Column[object]:
    return sa.Column(
        name,
        postgresql.JSONB(astext_type=sa.Text()),
        server_default=sa.text("'[]'::jsonb"),
        nullable=False,
    )


def _false(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), server_default=sa.text("false"), nullable=False)


def _protocols(names: str) -> None:
    # Each constraint under the name it has: 0006 named vendor's through the naming convention
    # (which prefixed it once more), 0014 session_vendor's as given (op.f).
    for table, column, constraint in (
        ("vendor", "protocol", "ck_vendor_protocol_known"),
        ("session_vendor", "front_end", op.f("ck_session_vendor_front_end_known")),
    ):
        op.drop_constraint(constraint, table, type_="check")
        op.create_check_constraint(constraint, table, f"{column} IN {names}")


def upgrade() -> None:
    _protocols(WITH_SAML)
    op.create_table(
        "saml_service_provider",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        _json_list("assertion_consumers"),
        _json_list("logout_services"),
        _json_list("signing_certificates"),
        _json_list("encryption_certificates"),
        _false("authn_requests_signed"),
        _false("want_assertions_signed"),
        sa.Column(
            "nameid_format",
            sqlmodel.sql.sqltypes.AutoString(length=16),
            server_default="persistent",
            nullable=False,
        ),
        _false("encrypt_assertions"),
        sa.Column(
            "cipher",
            sqlmodel.sql.sqltypes.AutoString(length=16),
            server_default="aes256-gcm",
            nullable=False,
        ),
        _false("sign_response"),
        sa.Column(
            "attribute_name_format",
            sqlmodel.sql.sqltypes.AutoString(length=8),
            server_default="uri",
            nullable=False,
        ),
        sa.Column("metadata_xml", sa.Text(), nullable=True),
        sa.Column("metadata_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("created_at", STAMP, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", STAMP, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "nameid_format IN ('persistent', 'email', 'unspecified')",
            name=op.f("ck_saml_service_provider_nameid_format_known"),
        ),
        sa.CheckConstraint(
            "cipher IN ('aes256-gcm', 'aes128-gcm', 'aes256-cbc', 'aes128-cbc')",
            name=op.f("ck_saml_service_provider_cipher_known"),
        ),
        sa.CheckConstraint(
            "attribute_name_format IN ('uri', 'basic')",
            name=op.f("ck_saml_service_provider_name_format_known"),
        ),
        sa.CheckConstraint(
            "jsonb_array_length(assertion_consumers) > 0",
            name=op.f("ck_saml_service_provider_has_consumer"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_saml_service_provider_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vendor_id", name=op.f("pk_saml_service_provider")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_saml_service_provider_entity_id")),
    )


def downgrade() -> None:
    op.drop_table("saml_service_provider")
    # A SAML vendor cannot be kept without its service provider: it goes, with what it reached.
    op.execute("DELETE FROM session_vendor WHERE front_end = 'saml'")
    op.execute("DELETE FROM vendor WHERE protocol = 'saml'")
    _protocols(WITHOUT_SAML)
