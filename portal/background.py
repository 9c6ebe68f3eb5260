"""Work the app runs beside its requests (the upkeep jobs, the mail and logout deliveries): one
task per app process, started when it serves and stopped before it closes."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import suppress

from quart import Quart


def run_while_serving(app: Quart, name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work()` as a task while `app` serves, kept as app.extensions[name]. while_serving:
    it starts after the database engine is open and is cancelled before it is closed."""

    @app.while_serving
    async def running() -> AsyncGenerator[None, None]:
        task = asyncio.ensure_future(work())
        app.extensions[name] = task
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
