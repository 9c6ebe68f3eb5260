"""member search text: each member's names, email, username and iMIS ID folded (no accents, no
case) so that staff's search for "Muller" finds Müller (issue 26) — kept by the portal on every
write of a member, filled here for the members already stored

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 02:30:00+00:00
"""

from collections.abc import Sequence
from types import SimpleNamespace

import sqlalchemy as sa

from alembic import op
from portal import search_text

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
BATCH = 5000


def upgrade() -> None:
    op.add_column("member", sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    # Folded in Python, as the portal folds (one normalisation): PostgreSQL's unaccent is a
    # contrib extension the embedded server does not ship.
    member = sa.table("member", *(sa.column(n) for n in ("id", *search_text.SEARCHED)))
    read = sa.select(member).order_by(member.c.id).limit(BATCH)
    write = sa.text("UPDATE member SET search_text = :folded WHERE id = :id")
    connection, last = op.get_bind(), 0
    while rows := connection.execute(read.where(member.c.id > last)).mappings().all():
        connection.execute(
            write, [{"id": r["id"], "folded": search_text.of(SimpleNamespace(**r))} for r in rows]
        )
        last = rows[-1]["id"]


def downgrade() -> None:
    op.drop_column("member", "search_text")
