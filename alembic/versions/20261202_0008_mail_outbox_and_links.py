"""mail outbox and single-use account links: password resets, invitations, staff set-password

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("used_at IS NULL AND voided_at IS NULL")
String = sqlmodel.sql.sqltypes.AutoString
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("member", sa.Column("invited_at", Moment, nullable=True))
    op.add_column("member", sa.Column("invitation_accepted_at", Moment, nullable=True))
    op.create_table(
        "account_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", String(length=64), nullable=False),
        sa.Column("purpose", String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("password_digest", String(length=64), nullable=False),
        sa.Column("continuation", String(length=8192), nullable=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.Column("used_at", Moment, nullable=True),
        sa.Column("voided_at", Moment, nullable=True),
        sa.CheckConstraint(
            "(member_id IS NULL) <> (staff_id IS NULL)", name=op.f("ck_account_link_one_subject")
        ),
        sa.CheckConstraint(
            "purpose IN ('reset', 'invitation', 'staff_password')",
            name=op.f("ck_account_link_purpose_known"),
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_account_link_expires_after_creation")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_account_link_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_account_link_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_link_token_hash")),
    )
    op.create_index(
        "uq_account_link_live_member", "account_link", ["member_id"], unique=True,
        postgresql_where=LIVE,
    )  # fmt: skip
    op.create_index(
        "uq_account_link_live_staff", "account_link", ["staff_id"], unique=True,
        postgresql_where=LIVE,
    )  # fmt: skip
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", String(length=32), nullable=False),
        sa.Column("recipient", String(length=254), nullable=False),
        sa.Column("subject", String(length=300), nullable=False),
        sa.Column("text_body", String(), nullable=False),
        sa.Column("html_body", String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("next_attempt_at", Moment, nullable=False),
        sa.Column("lease_until", Moment, nullable=True),
        sa.Column("sent_at", Moment, nullable=True),
        sa.Column("failed_at", Moment, nullable=True),
        sa.Column("last_error", String(length=300), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_mail_outbox_attempts_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index(
        "ix_mail_outbox_due", "mail_outbox", ["next_attempt_at"],
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_due", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index("uq_account_link_live_staff", table_name="account_link")
    op.drop_index("uq_account_link_live_member", table_name="account_link")
    op.drop_table("account_link")
    op.drop_column("member", "invitation_accepted_at")
    op.drop_column("member", "invited_at")
