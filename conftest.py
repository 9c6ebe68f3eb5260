"""Fixtures every suite shares, tests/ and e2e/ alike: each test gets its own Postgres database,
cloned from a template migrated the way production migrates. The pytest-xdist workers share one
embedded Postgres, each with a template of its own; passwords hash at a test-only cost."""

import asyncio
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from portal import db
from portal.auth import passwords
from tests.flows import off_the_loop

# This machine sets PYTHONDONTWRITEBYTECODE, so every process of a run (each xdist worker, each
# `portal` command or server a test starts) compiled the portal, its libraries and the tests
# (assertion rewriting) from source again: 2-3 s of CPU each. The suite's processes keep their
# bytecode outside the worktree instead, where Python checks it against each source as always.
BYTECODE = os.path.join(tempfile.gettempdir(), "portal-tests-pycache")
sys.dont_write_bytecode = False
sys.pycache_prefix = BYTECODE
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ["PYTHONPYCACHEPREFIX"] = BYTECODE  # workers and subprocesses inherit it

# What only a throwaway server may give up: durability (a crash loses nothing a test needs) and
# vacuuming (a test's database lives for seconds). Never set on PORTAL_TEST_DATABASE_URL's
# server, which is not the suite's to reconfigure. A commit costs next to nothing then: a test
# that compares what requests cost uses durable_database_url.
THROWAWAY_SETTINGS = (
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "autovacuum = off",
)


# What a test module uses that takes seconds: servers or processes of its own, or hypothesis's
# hundreds of examples (`given`).
SLOW_MODULE_NAMES = ("live_portal", "live_demo", "subprocess", "given")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker per core, and one more. Some tests wait on timers (a lease running
    out, a slow iMIS, a server stopping) with their worker's core idle; the extra worker uses
    it."""
    return (os.cpu_count() or 1) + 1


def pytest_configure(config: pytest.Config) -> None:
    passwords.cheap_hashing_for_tests(True)  # this process only: a `portal serve` hashes as always


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, the browser's last, the quick ones between: xdist hands tests out
    in this order (each worker's share keeps it), so the workers end together on quick browser
    tests instead of one waiting for the other to finish a long test. The browser's come last
    because Playwright's sync API keeps an event loop running in the worker from its first test
    on, in which no async test can run after it. A stable sort: every worker collects the same
    order."""
    items.sort(key=place)


def place(item: pytest.Item) -> int:
    if "browser" in getattr(item, "fixturenames", ()):
        return 2
    names = vars(item.module) if isinstance(item, pytest.Function) else {}
    return 0 if any(name in names for name in SLOW_MODULE_NAMES) else 1


async def admin(server_url: str, *statements: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    await engine.dispose()


def database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def admin_off_the_loop(server_url: str, *statements: str) -> None:
    off_the_loop(lambda: asyncio.run(admin(server_url, *statements)))


def embedded_server(factory: pytest.TempPathFactory, name: str) -> str:
    """The run's embedded Postgres called `name`, which every xdist worker joins (it stops when
    the last one exits)."""
    run_directory = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's basetemp is the run's, one level down
        run_directory = run_directory.parent
    return db.asyncpg_url(db.start_embedded(run_directory / name))


@contextmanager
def migrated_template(server_url: str) -> Iterator[str]:
    """A template of this worker's own (random names: workers and runs may share a server)."""
    name = f"portal_template_{uuid.uuid4().hex[:12]}"
    admin_off_the_loop(server_url, f"CREATE DATABASE {name}")
    off_the_loop(lambda: db.upgrade(database(server_url, name)))
    yield name
    admin_off_the_loop(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Clones:
    """Each test's database, cloned from the template while the test before it runs, and
    dropped while the test after it runs: one thread of this worker does both, in order, so a
    test waits for neither (a clone and a drop cost 0.1-0.3 s of Postgres each)."""

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url, self.template = server_url, template
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="clones")
        self.spare = self.thread.submit(self._create)
        self.drops: list[Future[None]] = []

    @contextmanager
    def one(self) -> Iterator[str]:
        """A test's database (its URL), ready; dropped once the test is over."""
        name = self.spare.result()
        self.spare = self.thread.submit(self._create)
        yield database(self.server_url, name)
        self._drop_later(name)

    def settle(self) -> None:
        """Until the thread has done what it was given: for a test that measures time."""
        self.thread.submit(lambda: None).result()

    def close(self) -> None:
        self._drop_later(self.spare.result())
        self.thread.shutdown(wait=True)
        for dropped in self.drops:
            dropped.result()  # a drop that failed fails the run here

    def _drop_later(self, name: str) -> None:
        self.drops.append(self.thread.submit(self._drop, name))

    def _create(self) -> str:
        return create_clone(self.server_url, self.template)

    def _drop(self, name: str) -> None:
        drop_clone(self.server_url, name)


def create_clone(server_url: str, template: str) -> str:
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    admin_off_the_loop(server_url, f"CREATE DATABASE {name} TEMPLATE {template}")
    return name


def drop_clone(server_url: str, name: str) -> None:
    admin_off_the_loop(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PORTAL_TEST_DATABASE_URL's server, else the run's embedded Postgres, durability off."""
    configured = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if configured:
        return db.asyncpg_url(configured)
    url = embedded_server(tmp_path_factory, "embedded")
    settings = [f"ALTER SYSTEM SET {setting}" for setting in THROWAWAY_SETTINGS]
    admin_off_the_loop(url, *settings, "SELECT pg_reload_conf()")
    return url


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    with migrated_template(server_url) as name:
        yield name


@pytest.fixture(scope="session")
def clones(server_url: str, template_database: str) -> Iterator[Clones]:
    ahead = Clones(server_url, template_database)
    yield ahead
    ahead.close()


@pytest.fixture
def database_url(clones: Clones) -> Iterator[str]:
    with clones.one() as url:
        yield url


@pytest.fixture(scope="session")
def durable_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A server whose commits cost what production's do (fsync on), for a test that compares
    what two requests cost: PORTAL_TEST_DATABASE_URL's, else a second embedded Postgres."""
    configured = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if configured:
        return db.asyncpg_url(configured)
    return embedded_server(tmp_path_factory, "durable")


@pytest.fixture(scope="session")
def durable_template(durable_server_url: str) -> Iterator[str]:
    with migrated_template(durable_server_url) as name:
        yield name


@pytest.fixture
def durable_database_url(
    durable_server_url: str, durable_template: str, clones: Clones
) -> Iterator[str]:
    """The test's own database on the durable server, cloned before the test and dropped after
    it: no clone or drop of this worker runs on either server while the test measures."""
    name = create_clone(durable_server_url, durable_template)
    clones.settle()
    yield database(durable_server_url, name)
    drop_clone(durable_server_url, name)
