import asyncio

import alembic.command
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from quart import Quart
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from portal import db, members
from portal.errors import PortalError
from portal.models import id_of
from portal.settings import Settings, SettingsError
from tests.flows import unit_of_work


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://user:pw@db.example:5432/portal",
        "postgres://user:pw@db.example:5432/portal",
        "postgresql+asyncpg://user:pw@db.example:5432/portal",
        "postgresql+psycopg://user:pw@db.example:5432/portal",
    ],
)
def test_database_urls_are_normalised_to_asyncpg(given: str) -> None:
    assert db.asyncpg_url(given) == "postgresql+asyncpg://user:pw@db.example:5432/portal"


@pytest.mark.parametrize("given", ["mysql://u@h/d", "sqlite:///x.db", "not a url"])
def test_other_databases_are_refused(given: str) -> None:
    with pytest.raises(SettingsError):
        db.asyncpg_url(given)


async def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata)
        )
    await engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    config = db.alembic_config(database_url)
    alembic.command.downgrade(config, "base")
    assert tables(database_url) == {"alembic_version"}
    alembic.command.upgrade(config, "head")
    alembic.command.upgrade(config, "head")  # twice in a row is fine
    assert {"member", "vendor", "sso_token", "audit_event"} <= tables(database_url)
    db.require_current_schema(database_url)


def tables(url: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            result = await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            found = {row[0] for row in result}
        await engine.dispose()
        return found

    return asyncio.run(names())


def test_an_unmigrated_database_is_refused(database_url: str) -> None:
    alembic.command.downgrade(db.alembic_config(database_url), "base")
    with pytest.raises(SettingsError, match="portal db upgrade"):
        db.prepare_database(Settings(env="development", database_url=database_url))


async def test_the_audit_log_is_append_only(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO audit_event (event, outcome) VALUES ('test', 'success')")
        )
    for statement in ("UPDATE audit_event SET outcome = 'failure'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM audit_event")) == 1
    await engine.dispose()


def test_a_conflict_in_a_command_line_unit_of_work_writes_nothing(database_url: str) -> None:
    settings = Settings(env="development", database_url=database_url)

    async def twice(session: object) -> None:
        for _ in range(2):
            await session.execute(  # type: ignore[attr-defined]
                text(
                    "INSERT INTO staff (email, password_hash, role, enabled) "
                    "VALUES ('a@example.org', 'x', 'admin', true)"
                )
            )

    with pytest.raises(PortalError, match="nothing was written"):
        db.run_in_session(settings, twice)
    assert db.run_in_session(settings, count_staff) == 0


async def count_staff(session: object) -> int:
    result = await session.execute(text("SELECT count(*) FROM staff"))  # type: ignore[attr-defined]
    return int(result.scalar_one())


async def test_a_request_has_one_session_and_holds_no_connection_between_transactions(
    app: Quart,
) -> None:
    async with app.test_request_context("/"):
        pool = db.engine().pool
        async with db.transaction() as first:
            await first.execute(text("SELECT 1"))
            assert pool.checkedout() == 1  # type: ignore[attr-defined]
        # Between its transactions (a body being read, a password checked) a request holds none.
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        async with db.transaction() as second:
            assert second is first
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.usefixtures("ada")
async def test_each_transaction_of_a_request_reads_its_rows_afresh(
    app: Quart, database_url: str
) -> None:
    """The sign-in settles in a later transaction than its lookup: it must see a member who was
    disabled in between, not the row the request loaded before."""
    async with app.test_request_context("/"):
        async with db.transaction() as session:
            member = await members.select_member_by_login(session, "ada")
            assert member is not None and member.enabled
        async with unit_of_work(database_url) as other:
            await other.execute(text("UPDATE member SET enabled = false"))
        async with db.transaction() as session:
            again = await members.select_member_by_id(session, id_of(member))
            assert again is not None and not again.enabled
