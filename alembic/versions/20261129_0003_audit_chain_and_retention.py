"""audit chain and retention

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The purge path (portal/audit_chain.py) deletes old events and seals inside a transaction that
# has SET LOCAL portal.audit_purge = 'on'. That opens nothing to an attacker: whoever can run
# such SQL can as well disable the trigger. The hash chain and its checkpoint are what detect
# tampering; the trigger only keeps honest code (and mistakes) from rewriting the evidence.
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('portal.audit_purge', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$
"""
ORIGINAL_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only';
END
$$
"""
PROTECTED = ("audit_seal", "audit_checkpoint", "audit_verification")


def upgrade() -> None:
    op.create_table(
        "audit_seal",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_audit_seal_hash_hex")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_seal")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_seal_event_id")),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("purged_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_checkpoint_single_row")),
        sa.CheckConstraint("hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_audit_checkpoint_hash_hex")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )
    op.create_table(
        "audit_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("problem_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("problem_event_id", sa.BigInteger(), nullable=True),
        sa.Column("problem", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verification")),
    )
    op.execute(APPEND_ONLY_FUNCTION)
    for table in PROTECTED:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()"
        )


def downgrade() -> None:
    for table in PROTECTED:
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute(ORIGINAL_FUNCTION)
    op.drop_table("audit_verification")
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_seal")
