"""Each process's copy of the signing keys (portal/key_cache.py): served without a database
round trip, dropped when a key changes anywhere (LISTEN/NOTIFY), at the next time boundary, and
trusted only TRUST_SECONDS while the process cannot show that it is listening."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import db, key_cache, key_management, signing_keys
from portal.key_cache import TRUST_SECONDS, Cache
from portal.settings import Settings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Ticks:
    """Monotonic seconds that move only when the test moves them."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def test_a_copy_is_trusted_a_few_seconds_unless_a_listener_vouches_for_it() -> None:
    ticks = Ticks()
    cache = Cache(ticks)
    cache.keep(cache.generation, "keys", now=NOW, until=None)
    ticks.value += TRUST_SECONDS - 0.1
    assert cache.current(NOW) == "keys"
    ticks.value += 0.1  # nobody listening: it may have missed a change
    assert cache.current(NOW) is None
    cache.heard()  # a listener's connection answered: no change was missed
    assert cache.current(NOW) == "keys"
    ticks.value += TRUST_SECONDS  # the listener fell silent (its connection lost)
    assert cache.current(NOW) is None


def test_a_change_or_a_time_boundary_ends_a_copy() -> None:
    ticks = Ticks()
    cache = Cache(ticks)
    boundary = NOW + timedelta(minutes=15)
    cache.keep(cache.generation, "keys", now=NOW, until=boundary)
    cache.heard()
    assert cache.current(boundary - timedelta(seconds=1)) == "keys"
    assert cache.current(boundary) is None  # a key starts signing, or retires
    assert cache.current(NOW - timedelta(seconds=1)) is None  # the clock went back
    cache.changed()
    assert cache.current(NOW) is None


def test_a_load_that_overlapped_a_change_is_not_kept() -> None:
    cache = Cache(Ticks())
    generation = cache.generation
    cache.changed()  # heard while the load was under way
    cache.keep(generation, "stale", now=NOW, until=None)
    assert cache.loaded is None


@contextlib.asynccontextmanager
async def engine_for(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def in_unit(engine: AsyncEngine, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return await work(session)


async def test_a_cached_key_set_costs_no_database_round_trip(
    database_url: str, settings: Settings
) -> None:
    statements: list[str] = []
    async with engine_for(database_url) as engine:
        event.listen(
            engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2])
        )

        async def key_set(session: AsyncSession) -> dict[str, Any]:
            return await signing_keys.jwks(session, now=NOW, settings=settings)

        await in_unit(engine, key_set)  # makes the keys: a copy that saw a change is not kept
        first = await in_unit(engine, key_set)
        key_cache.for_engine(engine).heard()  # as a listening worker's copy is
        statements.clear()
        for _ in range(3):
            assert await in_unit(engine, key_set) == first
        token = await in_unit(
            engine, lambda s: signing_keys.sign(s, {"sub": "M1"}, now=NOW, settings=settings)
        )
        verified = await in_unit(
            engine, lambda s: signing_keys.verification_keys(s, now=NOW, settings=settings)
        )
    assert token and verified
    assert statements == []


class Watched(Cache):
    """A process's copy, as a test watches it: it says when it hears a change, or a heartbeat."""

    def __init__(self) -> None:
        super().__init__()
        self.listening, self.change_heard = asyncio.Event(), asyncio.Event()

    def changed(self) -> None:
        super().changed()
        self.change_heard.set()

    def heard(self) -> None:
        super().heard()
        self.listening.set()


LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


@contextlib.asynccontextmanager
async def listening(engine: AsyncEngine) -> AsyncIterator[tuple[Watched, asyncio.Task[None]]]:
    cache = Watched()
    task = asyncio.ensure_future(key_cache.listen(engine, cache))
    try:
        await asyncio.wait_for(cache.listening.wait(), 10)
        cache.change_heard.clear()  # listening drops the copy once: it may have missed a change
        yield cache, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, *LOST):
            await task


async def test_a_change_committed_elsewhere_reaches_a_listening_process(
    database_url: str, settings: Settings
) -> None:
    async with engine_for(database_url) as engine, listening(engine) as (cache, _):
        await in_unit(
            engine, lambda s: key_management.rotate(s, now=NOW, settings=settings, immediately=True)
        )
        await asyncio.wait_for(cache.change_heard.wait(), 10)


async def test_a_lost_listening_connection_ends_the_listener_to_be_started_again(
    database_url: str,
) -> None:
    async with engine_for(database_url) as engine, listening(engine) as (cache, task):
        terminate = text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()"
        ).bindparams(name=key_cache.NAME)
        await in_unit(engine, lambda s: s.exec(terminate))
        heard = cache.heard_at
        with contextlib.suppress(*LOST):  # it returns, or raises what keep_listening catches
            await asyncio.wait_for(task, 10)
        assert task.done() and cache.heard_at == heard  # so the copy is soon trusted no more
