"""one outbox: mail (mail_outbox) and back-channel logout notices (logout_delivery) become kinds
of one table, `outbox`, claimed, retried and settled by one queue (portal/outbox/)

Every row moves, history too (the dashboard lists a vendor's recent notices; retention purges
settled mail): a mail's fields go into its payload (its bodies only while it is pending), a
notice's `jti` into its.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)
PENDING = "delivered_at IS NULL AND failed_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("vendor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("next_attempt_at", STAMP, nullable=False),
        sa.Column("leased_until", STAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("delivered_at", STAMP, nullable=True),
        sa.Column("failed_at", STAMP, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.CheckConstraint(
            "kind <> 'logout' OR (session_id IS NOT NULL AND vendor_id IS NOT NULL)",
            name=op.f("ck_outbox_logout_names_session_and_vendor"),
        ),
        sa.CheckConstraint(
            "delivered_at IS NULL OR failed_at IS NULL", name=op.f("ck_outbox_one_outcome")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_outbox_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_outbox_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint(
            "kind", "session_id", "vendor_id", name=op.f("uq_outbox_kind_session_id_vendor_id")
        ),
    )
    op.create_index(
        "ix_outbox_due", "outbox", ["kind", "next_attempt_at"], postgresql_where=sa.text(PENDING)
    )
    op.create_index("ix_outbox_vendor_id_id", "outbox", ["vendor_id", "id"])
    op.execute(
        """
        INSERT INTO outbox (kind, payload, created_at, next_attempt_at, leased_until, attempts,
                            delivered_at, failed_at, last_error)
        SELECT 'mail',
               jsonb_build_object('purpose', purpose, 'recipient', recipient, 'subject', subject)
               || CASE WHEN sent_at IS NULL AND failed_at IS NULL
                       THEN jsonb_build_object('text', text_body, 'html', html_body)
                       ELSE '{}'::jsonb END,
               created_at, next_attempt_at, lease_until, attempts, sent_at, failed_at, last_error
        FROM mail_outbox ORDER BY id
        """
    )
    op.execute(
        """
        INSERT INTO outbox (kind, payload, session_id, vendor_id, created_at, next_attempt_at,
                            leased_until, attempts, delivered_at, failed_at, last_status,
                            last_error)
        SELECT 'logout', jsonb_build_object('jti', jti), session_id, vendor_id, created_at,
               next_attempt_at, leased_until, attempts, delivered_at, failed_at, last_status,
               last_error
        FROM logout_delivery ORDER BY id
        """
    )
    op.drop_table("logout_delivery")
    op.drop_table("mail_outbox")


def downgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("text_body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("html_body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("next_attempt_at", STAMP, nullable=False),
        sa.Column("lease_until", STAMP, nullable=True),
        sa.Column("sent_at", STAMP, nullable=True),
        sa.Column("failed_at", STAMP, nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_mail_outbox_attempts_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index(
        "ix_mail_outbox_due", "mail_outbox", ["next_attempt_at"],
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )  # fmt: skip
    op.create_table(
        "logout_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column(
            "jti",
            sqlmodel.sql.sqltypes.AutoString(length=64),
            server_default=sa.text("replace(gen_random_uuid()::text, '-', '')"),
            nullable=False,
        ),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("next_attempt_at", STAMP, nullable=False),
        sa.Column("leased_until", STAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("delivered_at", STAMP, nullable=True),
        sa.Column("failed_at", STAMP, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.CheckConstraint(
            "delivered_at IS NULL OR failed_at IS NULL", name=op.f("ck_logout_delivery_one_outcome")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_logout_delivery_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_logout_delivery_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_logout_delivery_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logout_delivery")),
        sa.UniqueConstraint("jti", name=op.f("uq_logout_delivery_jti")),
        sa.UniqueConstraint(
            "session_id", "vendor_id", name=op.f("uq_logout_delivery_session_id_vendor_id")
        ),
    )
    op.create_index(
        "ix_logout_delivery_due", "logout_delivery", ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
    )  # fmt: skip
    op.create_index("ix_logout_delivery_vendor_id_id", "logout_delivery", ["vendor_id", "id"])
    op.execute(
        """
        INSERT INTO mail_outbox (purpose, recipient, subject, text_body, html_body, attempts,
                                 created_at, next_attempt_at, lease_until, sent_at, failed_at,
                                 last_error)
        SELECT payload->>'purpose', payload->>'recipient', payload->>'subject',
               coalesce(payload->>'text', ''), coalesce(payload->>'html', ''), attempts,
               created_at, next_attempt_at, leased_until, delivered_at, failed_at, last_error
        FROM outbox WHERE kind = 'mail' ORDER BY id
        """
    )
    op.execute(
        """
        INSERT INTO logout_delivery (session_id, vendor_id, jti, created_at, next_attempt_at,
                                     leased_until, attempts, delivered_at, failed_at,
                                     last_status, last_error)
        SELECT session_id, vendor_id, payload->>'jti', created_at, next_attempt_at,
               leased_until, attempts, delivered_at, failed_at, last_status, left(last_error, 200)
        FROM outbox WHERE kind = 'logout' ORDER BY id
        """
    )
    op.drop_table("outbox")
