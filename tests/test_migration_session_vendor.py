"""Migration 0014 fills session_vendor from what said it before: the Enhanced tokens and the
OpenID Connect grants of each session."""

import asyncio
from datetime import UTC, datetime, timedelta

import alembic.command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from portal import db

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AT = f"timestamptz '{T.isoformat()}'"
BEFORE = """
INSERT INTO member (id, imis_id, username, source, member_status, enabled)
    VALUES (1, '101', 'ada', 'local', 'A', true);
INSERT INTO vendor (id, key, name, protocol, token_url, enabled)
    VALUES (1, 'acme', 'Acme', 'enhanced', 'https://acme.example/t', true),
           (2, 'learn', 'Learn', 'oidc', NULL, true);
INSERT INTO auth_session (id, id_hash, member_id, expires_at)
    VALUES (1, 'a', 1, {t}), (2, 'b', 1, {t});
INSERT INTO sso_token (token_hash, vendor_id, member_id, session_id, issued_at, expires_at)
    VALUES ('t1', 1, 1, 1, {t}, {t} + interval '1 minute'),
           ('t2', 1, 1, 1, {t} + interval '5 minutes', {t} + interval '6 minutes');
INSERT INTO oidc_grant (code_hash, vendor_id, member_id, session_id, redirect_uri, scope,
                        code_challenge, auth_time, created_at, code_expires_at)
    SELECT code, 2, 1, session, 'https://learn.example/cb', 'openid', 'x', {t}, {t},
           {t} + interval '1 minute'
    FROM (VALUES ('c1', 1), ('c2', 2)) AS grants (code, session);
"""


async def run(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            found: list[tuple[object, ...]] = []
            for statement in filter(str.strip, sql.split(";")):
                result = await connection.execute(text(statement.format(t=AT)))
                found = [tuple(row) for row in result] if result.returns_rows else []
            return found
    finally:
        await engine.dispose()


def test_the_vendors_each_session_reached_are_filled_in(database_url: str) -> None:
    config = db.alembic_config(database_url)
    alembic.command.downgrade(config, "0013")
    asyncio.run(run(database_url, BEFORE))
    alembic.command.upgrade(config, "0014")
    reached = asyncio.run(
        run(
            database_url,
            "SELECT session_id, vendor_id, front_end, first_at, last_at FROM session_vendor "
            "ORDER BY session_id, vendor_id",
        )
    )
    assert reached == [
        (1, 1, "enhanced", T, T + timedelta(minutes=5)),
        (1, 2, "oidc", T, T),
        (2, 2, "oidc", T, T),
    ]
