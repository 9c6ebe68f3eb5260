"""The time, injected: views ask the app's clock, domain functions take `now` as an argument,
so tests move time forward instead of sleeping."""

from collections.abc import Callable
from datetime import UTC, datetime

from quart import Quart, current_app

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def init_app(app: Quart, clock: Clock = system_clock) -> None:
    app.extensions["clock"] = clock


def now() -> datetime:
    clock: Clock = current_app.extensions["clock"]
    return clock()
