"""sign-in guarantees: no @ in local usernames, the fresh sign-in flag on the session

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    clashing = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM member WHERE source = 'local' AND strpos(username, '@') > 0")
    )
    if clashing:
        raise RuntimeError(
            f"{clashing} local member(s) have an @ in their username; give them usernames "
            "without one (they can sign in with their email), then upgrade again"
        )
    op.create_check_constraint(
        op.f("ck_member_username_no_at"), "member", "source <> 'local' OR strpos(username, '@') = 0"
    )
    op.add_column(
        "auth_session",
        sa.Column("fresh_sign_in", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("auth_session", "fresh_sign_in")
    op.drop_constraint(op.f("ck_member_username_no_at"), "member", type_="check")
