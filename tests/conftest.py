"""The app under test, its settings and clock. The per-test database comes from ../conftest.py."""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from quart import Quart
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import clock as portal_clock
from portal import create_app, db
from portal.auth import passwords
from portal.demo.mailbox import Mailbox, running
from portal.settings import Settings
from tests.cli_runner import Runner
from tests.flows import VendorLogin, add_member, add_vendor
from tests.ports import reserved_port

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-production"


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


class CompiledTemplates(BytecodeCache):
    """The compiled templates every app of this process shares: Jinja compiles each template
    once per process instead of once per test's app (a sixth of a page test's CPU). A template
    whose source changed is compiled again: Jinja checks the source's checksum."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def compiling_templates_once(app: Quart) -> Quart:
    """The app, its templates compiled once for the whole process (CompiledTemplates)."""
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    return app


@asynccontextmanager
async def running_app(
    settings: Settings, clock: FakeClock, **changes: object
) -> AsyncIterator[Quart]:
    """The portal with these settings changed, started, on the test's clock."""
    app = compiling_templates_once(create_app(settings.model_copy(update=changes)))
    portal_clock.init_app(app, clock)
    async with app.test_app():
        yield app


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    async with running_app(settings, clock) as app:
        yield app


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = db.create_engine(database_url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
    await engine.dispose()


@pytest.fixture
async def acme(database_url: str) -> VendorLogin:
    return await add_vendor(database_url)


@pytest.fixture
async def ada(database_url: str) -> None:
    await add_member(database_url)


@dataclass(frozen=True)
class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it is sent."""

    mailbox: Mailbox
    url: str  # PORTAL_SMTP_URL for it
    port: int


@pytest.fixture
def smtp_sink(own_port: int) -> Iterator[SmtpSink]:
    mailbox = Mailbox()
    with running(mailbox, own_port) as url:
        yield SmtpSink(mailbox, url, own_port)


@pytest.fixture
def own_port() -> Iterator[int]:
    """A 127.0.0.1 port of this test's own (tests/ports.py): a server of the test binds it; until
    one does, a connection there is refused."""
    with reserved_port() as port:
        yield port


@pytest.fixture
def production_hashing() -> Iterator[None]:
    """Passwords hash at production cost in this test, as in every process but the suite's."""
    passwords.cheap_hashing_for_tests(False)
    yield
    passwords.cheap_hashing_for_tests(True)


@pytest.fixture
def portal(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    production_hashing: None,
) -> Runner:
    """The command line as an operator runs it: production, passwords at production cost."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    return Runner(database_url, monkeypatch, capsys)
