"""Each process's copy of the published signing keys (portal/signing_keys.py), and the listener
that keeps it true.

A process keeps what it loaded — the published keys with their public parts, and the private
keys it opened — until the first of:
- a key changes anywhere: every change NOTIFYs CHANNEL in its transaction (the `portal keys`
  commands, run in another process, included), and each serving process LISTENs on a
  connection of its own, so the copy is dropped as the change commits;
- the next time boundary: a published key starting to sign, or retiring;
- TRUST_SECONDS after the process last showed it was listening (its connection answered a
  heartbeat) or after it loaded, whichever is later: a process that is not listening (not yet
  connected, the connection lost, a command-line process) may have missed a change.
So a copy is at most TRUST_SECONDS behind a change; while the listener is healthy, a few
milliseconds. A copy holds nothing a database round trip is needed for: a cached key-set
request makes none."""

import asyncio
import logging
import math
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from quart import Quart
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import background
from portal.errors import one_line

log = logging.getLogger(__name__)
CHANNEL = "portal_signing_keys"
NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")
TRUST_SECONDS = 5.0
HEARTBEAT_SECONDS = 2.0  # well inside TRUST_SECONDS, so a healthy listener is always trusted
RECONNECT_SECONDS = 5.0
MAX_DATABASES = 16  # one in production; the tests use a database each
NAME = "portal signing-key listener"  # its connection's application_name in pg_stat_activity


@dataclass(frozen=True)
class Loaded:
    value: Any
    loaded_at: float  # monotonic seconds
    now: datetime  # the clock when it was loaded
    until: datetime | None  # the next time boundary


class Cache:
    """One database's published keys, in this process."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.generation = 0  # counts changes heard, so a load that overlapped one is not kept
        self.heard_at = -math.inf  # when a listener last showed it was listening
        self.loaded: Loaded | None = None
        # (fingerprint of the secret keys, sealed private key) -> the opened key, or None when
        # those secret keys cannot open it. Kept across changes: a key opened stays opened.
        self.opened: dict[tuple[str, str], Any] = {}

    def changed(self) -> None:
        self.generation += 1
        self.loaded = None

    def heard(self) -> None:
        self.heard_at = self.monotonic()

    def current(self, now: datetime) -> Any | None:
        """What was loaded, if it may still be trusted at `now`; else None."""
        loaded = self.loaded
        if loaded is None or now < loaded.now or (loaded.until and now >= loaded.until):
            return None
        if self.monotonic() - max(self.heard_at, loaded.loaded_at) >= TRUST_SECONDS:
            return None
        return loaded.value

    def keep(self, generation: int, value: Any, *, now: datetime, until: datetime | None) -> None:
        """Keep `value`, loaded since `generation` was read, unless a change came meanwhile."""
        if generation == self.generation:
            self.loaded = Loaded(value, self.monotonic(), now, until)

    def forget_opened_except(self, sealed: set[str]) -> None:
        """Let go of the private keys that are no longer published."""
        self.opened = {slot: key for slot, key in self.opened.items() if slot[1] in sealed}


_caches: dict[str, Cache] = {}


def _named(name: str) -> Cache:
    if name not in _caches:
        if len(_caches) >= MAX_DATABASES:
            del _caches[next(iter(_caches))]
        _caches[name] = Cache()
    return _caches[name]


def for_engine(engine: AsyncEngine) -> Cache:
    return _named(engine_name(engine))


def for_session(db: AsyncSession) -> Cache:
    return _named(database_name(db))


def database_name(db: AsyncSession) -> str:
    """The database `db` works on, as a name for what a process keeps of it."""
    return engine_name(db.get_bind().engine)


# Each engine's name, worked out once: rendering its URL took a cached key-set request's time.
_names: "weakref.WeakKeyDictionary[Engine, str]" = weakref.WeakKeyDictionary()


def engine_name(engine: AsyncEngine | Engine) -> str:
    """The database `engine` works on, as a name for what a process keeps of it."""
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    name = _names.get(sync)
    if name is None:
        name = _names[sync] = sync.url.render_as_string(hide_password=True)
    return name


async def announce_change(db: AsyncSession) -> None:
    """A key changed in `db`'s transaction: this process forgets its copy now, every other
    process when the transaction commits."""
    await db.exec(NOTIFY)  # type: ignore[call-overload]
    for_session(db).changed()


def init_app(app: Quart) -> None:
    background.run_while_serving(app, "signing_key_listener", lambda: keep_listening(app))


async def keep_listening(app: Quart) -> None:
    engine: AsyncEngine = app.extensions["db_engine"]
    cache = for_engine(engine)
    while True:
        try:
            await listen(engine, cache)
        except Exception as exc:  # nothing may stop it: a process not listening trusts less
            log.warning("not listening for signing-key changes: %s", one_line(exc))
        await asyncio.sleep(RECONNECT_SECONDS)


async def listen(engine: AsyncEngine, cache: Cache) -> None:
    """LISTEN on a connection of its own, and show it still listens every HEARTBEAT_SECONDS;
    returns (or raises) when the connection is lost."""
    args, options = engine.dialect.create_connect_args(engine.url)
    options["server_settings"] = {**options.get("server_settings", {}), "application_name": NAME}
    connection = await asyncpg.connect(*args, **options, timeout=HEARTBEAT_SECONDS * 2)
    try:
        await connection.add_listener(CHANNEL, lambda *_: cache.changed())
        cache.changed()  # a change made before the LISTEN was not heard
        while not connection.is_closed():
            await connection.fetchval("SELECT 1", timeout=HEARTBEAT_SECONDS)
            cache.heard()
            await asyncio.sleep(HEARTBEAT_SECONDS)
    finally:
        await connection.close(timeout=HEARTBEAT_SECONDS)
