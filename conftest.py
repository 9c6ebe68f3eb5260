"""Fixtures every suite shares, tests/ and e2e/ alike: each test gets its own Postgres database,
cloned from a template migrated the way production migrates."""

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from portal import db
from portal.auth import passwords
from tests.flows import off_the_loop


def pytest_configure(config: pytest.Config) -> None:
    passwords.cheap_hashing_for_tests(True)  # this process only: a `portal serve` hashes as always


async def admin(server_url: str, *statements: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    await engine.dispose()


def database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PORTAL_TEST_DATABASE_URL's server, else an embedded Postgres for this run."""
    configured = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if configured:
        return db.asyncpg_url(configured)
    return db.asyncpg_url(db.start_embedded(tmp_path_factory.mktemp("embedded")))


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    name = f"portal_template_{uuid.uuid4().hex[:12]}"
    off_the_loop(lambda: asyncio.run(admin(server_url, f"CREATE DATABASE {name}")))
    off_the_loop(lambda: db.upgrade(database(server_url, name)))
    yield name
    off_the_loop(
        lambda: asyncio.run(admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    )


@pytest.fixture
def database_url(server_url: str, template_database: str) -> Iterator[str]:
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    off_the_loop(
        lambda: asyncio.run(
            admin(server_url, f"CREATE DATABASE {name} TEMPLATE {template_database}")
        )
    )
    yield database(server_url, name)
    off_the_loop(
        lambda: asyncio.run(admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    )
