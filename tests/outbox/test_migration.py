"""Migration 0015 moves every row of the two old outboxes into the one outbox, and its downgrade
moves them back: pending mail keeps its bodies, sent mail had none, a notice keeps its `jti`."""

import asyncio
from typing import Any

import alembic.command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from portal import db
from tests.flows import add_member, add_vendor, issue_token

BEFORE = "0013"
MAIL = """
INSERT INTO mail_outbox (purpose, recipient, subject, text_body, html_body, attempts, created_at,
                         next_attempt_at, lease_until, sent_at, failed_at, last_error)
VALUES ('password_reset', 'ada@example.org', 'Reset', 'link', '<p>link</p>', 1,
        '2026-12-01 10:00Z', '2026-12-01 10:01Z', NULL, NULL, NULL, 'SMTPConnectError'),
       ('invitation', 'bob@example.org', 'Welcome', '', '', 1,
        '2026-12-01 09:00Z', '2026-12-01 09:00Z', NULL, '2026-12-01 09:00Z', NULL, NULL)
"""
NOTICE = """
INSERT INTO logout_delivery (session_id, vendor_id, jti, created_at, next_attempt_at, attempts,
                             last_status, last_error)
SELECT s.id, v.id, 'j123', '2026-12-01 11:00Z', '2026-12-01 11:00:05Z', 1, 503,
       'the vendor answered 503'
FROM auth_session s, vendor v
"""


def run(url: str, *statements: str) -> list[dict[str, Any]]:
    """The statements in one transaction; the last one's rows."""

    async def go() -> list[dict[str, Any]]:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
        await engine.dispose()
        return [dict(row._mapping) for row in result] if result.returns_rows else []

    return asyncio.run(go())


def test_rows_move_into_the_outbox_and_back(database_url: str) -> None:
    asyncio.run(add_member(database_url))
    asyncio.run(add_vendor(database_url, "acme", "Acme", backchannel_logout_url=None))
    asyncio.run(issue_token(database_url))
    config = db.alembic_config(database_url)
    alembic.command.downgrade(config, BEFORE)
    run(database_url, MAIL, NOTICE)

    alembic.command.upgrade(config, "head")
    moved = run(
        database_url,
        "SELECT kind, payload, session_id IS NOT NULL AS has_session, attempts, delivered_at,"
        " last_status, last_error FROM outbox ORDER BY kind, created_at",
    )
    assert [(r["kind"], r["payload"], r["has_session"], r["attempts"]) for r in moved] == [
        ("logout", {"jti": "j123"}, True, 1),
        ("mail", {"purpose": "invitation", "recipient": "bob@example.org", "subject": "Welcome"},
         False, 1),
        ("mail", {"purpose": "password_reset", "recipient": "ada@example.org", "subject": "Reset",
                  "text": "link", "html": "<p>link</p>"}, False, 1),
    ]  # fmt: skip
    assert (moved[0]["last_status"], moved[1]["delivered_at"] is not None) == (503, True)

    alembic.command.downgrade(config, BEFORE)
    mail = run(
        database_url,
        "SELECT recipient, text_body, sent_at IS NOT NULL AS sent FROM mail_outbox ORDER BY id",
    )
    assert mail == [
        {"recipient": "ada@example.org", "text_body": "link", "sent": False},
        {"recipient": "bob@example.org", "text_body": "", "sent": True},
    ]
    [notice] = run(database_url, "SELECT jti, last_status FROM logout_delivery")
    assert notice == {"jti": "j123", "last_status": 503}
    alembic.command.upgrade(config, "head")
