"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 16:54:45.042585+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("vendor_key", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("staff_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("client_address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index("ix_audit_event_event_id", "audit_event", ["event", "id"], unique=False)
    op.create_index("ix_audit_event_member_id_id", "audit_event", ["member_id", "id"], unique=False)
    op.create_index(
        op.f("ix_audit_event_occurred_at"), "audit_event", ["occurred_at"], unique=False
    )
    op.create_index(
        "ix_audit_event_vendor_key_id", "audit_event", ["vendor_key", "id"], unique=False
    )
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("imis_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("first_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("last_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.Column("informal_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("suffix", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("designation", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("company", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("address1", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("postal_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("member_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("member_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("join_date", sa.Date(), nullable=True),
        sa.Column("paid_through", sa.Date(), nullable=True),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source = 'local' OR password_hash IS NULL", name=op.f("ck_member_imis_no_password")
        ),
        sa.CheckConstraint("source IN ('local', 'imis')", name=op.f("ck_member_source_known")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_member_email_lower")),
        sa.CheckConstraint("username = lower(username)", name=op.f("ck_member_username_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("email", name=op.f("uq_member_email")),
        sa.UniqueConstraint("imis_id", name=op.f("uq_member_imis_id")),
        sa.UniqueConstraint("username", name=op.f("uq_member_username")),
    )
    op.create_table(
        "rate_counter",
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_counter")),
    )
    op.create_table(
        "sign_in_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scope IN ('account', 'address')", name=op.f("ck_sign_in_throttle_scope_known")
        ),
        sa.CheckConstraint(
            "consecutive_failures >= 0", name=op.f("ck_sign_in_throttle_failures_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_throttle")),
        sa.UniqueConstraint("scope", "subject", name=op.f("uq_sign_in_throttle_scope_subject")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("role IN ('admin', 'viewer')", name=op.f("ck_staff_role_known")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_staff_email_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_email")),
    )
    op.create_table(
        "vendor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("token_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("signout_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("key ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name=op.f("ck_vendor_key_slug")),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name=op.f("ck_vendor_name_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor")),
        sa.UniqueConstraint("key", name=op.f("uq_vendor_key")),
    )
    op.create_table(
        "auth_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("client_address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.CheckConstraint(
            "(member_id IS NULL) <> (staff_id IS NULL)", name=op.f("ck_auth_session_one_subject")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_auth_session_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_auth_session_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_auth_session_id_hash")),
    )
    op.create_index(op.f("ix_auth_session_member_id"), "auth_session", ["member_id"], unique=False)
    op.create_index(op.f("ix_auth_session_staff_id"), "auth_session", ["staff_id"], unique=False)
    op.create_table(
        "vendor_domain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("domain = lower(domain)", name=op.f("ck_vendor_domain_domain_lower")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_vendor_domain_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_domain")),
        sa.UniqueConstraint("vendor_id", "domain", name=op.f("uq_vendor_domain_vendor_id_domain")),
    )
    op.create_table(
        "vendor_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("output_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.CheckConstraint(
            "field IN ('ImisId', 'Username', 'FirstName', 'LastName', 'FullName', 'InformalName', 'Prefix', 'Suffix', 'Designation', 'Email', 'Company', 'Title', 'Phone', 'Address1', 'City', 'State', 'PostalCode', 'Country', 'MemberType', 'MemberStatus', 'JoinDate', 'PaidThrough', 'IsMember')",
            name=op.f("ck_vendor_field_field_in_catalogue"),
        ),
        sa.CheckConstraint(
            "output_name ~ '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'",
            name=op.f("ck_vendor_field_output_name_shape"),
        ),
        sa.CheckConstraint("position >= 0", name=op.f("ck_vendor_field_position_positive")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_vendor_field_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_field")),
        sa.UniqueConstraint("vendor_id", "field", name=op.f("uq_vendor_field_vendor_id_field")),
        sa.UniqueConstraint(
            "vendor_id", "position", name=op.f("uq_vendor_field_vendor_id_position")
        ),
    )
    op.create_table(
        "vendor_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("slot IN (1, 2)", name=op.f("ck_vendor_secret_two_slots")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_vendor_secret_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_secret")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_vendor_secret_secret_hash")),
    )
    op.create_index(
        "uq_vendor_secret_active_slot",
        "vendor_secret",
        ["vendor_id", "slot"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "sso_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("expires_at > issued_at", name=op.f("ck_sso_token_expires_after_issue")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_sso_token_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_sso_token_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_sso_token_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sso_token_token_hash")),
    )
    op.create_index(op.f("ix_sso_token_session_id"), "sso_token", ["session_id"], unique=False)
    # The audit log is evidence: nobody, not even the portal itself, rewrites or deletes it.
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION audit_event_refuse_change()")
    op.drop_index(op.f("ix_sso_token_session_id"), table_name="sso_token")
    op.drop_table("sso_token")
    op.drop_index(
        "uq_vendor_secret_active_slot",
        table_name="vendor_secret",
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.drop_table("vendor_secret")
    op.drop_table("vendor_field")
    op.drop_table("vendor_domain")
    op.drop_index(op.f("ix_auth_session_staff_id"), table_name="auth_session")
    op.drop_index(op.f("ix_auth_session_member_id"), table_name="auth_session")
    op.drop_table("auth_session")
    op.drop_table("vendor")
    op.drop_table("staff")
    op.drop_table("sign_in_throttle")
    op.drop_table("rate_counter")
    op.drop_table("member")
    op.drop_index("ix_audit_event_vendor_key_id", table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_occurred_at"), table_name="audit_event")
    op.drop_index("ix_audit_event_member_id_id", table_name="audit_event")
    op.drop_index("ix_audit_event_event_id", table_name="audit_event")
    op.drop_table("audit_event")
