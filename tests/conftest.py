"""Every test gets its own database, cloned from a template migrated the way production migrates."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from quart import Quart
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import clock as portal_clock
from portal import create_app, db
from portal.settings import Settings

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-production"


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
    asyncio.run(admin(server_url, f"CREATE DATABASE {name}"))
    db.upgrade(database(server_url, name))
    yield name
    asyncio.run(admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def database_url(server_url: str, template_database: str) -> Iterator[str]:
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin(server_url, f"CREATE DATABASE {name} TEMPLATE {template_database}"))
    yield database(server_url, name)
    asyncio.run(admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def settings(database_url: str, tmp_path: os.PathLike[str]) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=TEST_SECRET_KEY,
    )


class FakeClock:
    """The app's clock in tests: time moves only when a test moves it."""

    def __init__(self) -> None:
        self.current = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    app = create_app(settings)
    portal_clock.init_app(app, clock)
    async with app.test_app():
        yield app


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = db.create_engine(database_url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
    await engine.dispose()
