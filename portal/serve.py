"""`portal serve`: run the portal under Hypercorn (`portal demo` is in portal/demo/run.py)."""

import argparse
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypercorn.config import Config
from hypercorn.run import run

from portal import db, directory, logs, production_checks
from portal.errors import PortalError
from portal.metrics import MULTIPROCESS_DIRECTORY
from portal.settings import Settings

log = logging.getLogger("portal.serve")


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the identity provider (Hypercorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=serve_command)


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    check_bind(args)
    production_checks.check_can_serve(settings)
    directory.for_settings(settings)  # a misconfigured directory stops us here, in one line
    logs.configure()
    # Workers are separate processes: they find the database (embedded or not) in DATABASE_URL.
    os.environ["DATABASE_URL"] = db.prepare_database(settings)
    os.environ["PORTAL_ENV"] = settings.env
    with metrics_directory():
        url = f"http://{args.host}:{args.port}/"
        log.info("serving", extra=logs.fields(url=url, env=settings.env, workers=args.workers))
        return hypercorn(args)


def check_bind(args: argparse.Namespace) -> None:
    if not 0 < args.port < 65536:
        raise PortalError(f"--port must be 1-65535, not {args.port}")
    if not 1 <= args.workers <= 64:
        raise PortalError(f"--workers must be 1-64, not {args.workers}")


@contextmanager
def metrics_directory() -> Iterator[None]:
    """Where the workers keep their metrics (portal/metrics.py): PROMETHEUS_MULTIPROC_DIR as
    given, emptied first (a previous run's counts would be added to this one's), else a
    temporary directory of this run's own."""
    given = os.environ.get(MULTIPROCESS_DIRECTORY)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for leftover in path.glob("*.db"):
            leftover.unlink()
        yield
        return
    with tempfile.TemporaryDirectory(prefix="portal-metrics-") as temporary:
        os.environ[MULTIPROCESS_DIRECTORY] = temporary
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIRECTORY]


def hypercorn(args: argparse.Namespace) -> int:
    config = base_config()
    config.application_path = "portal.asgi:app"
    config.bind = [f"{args.host}:{args.port}"]
    config.workers = args.workers
    return run(config)


def base_config() -> Config:
    """What every Hypercorn server of ours shares: `portal serve`, `portal demo`, the tests'."""
    config = Config()
    # The portal logs each request itself (portal/observe.py: with its route and request id);
    # Hypercorn's own messages go through the JSON logging of portal/logs.py.
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    # A Server header only tells an attacker which advisories to try.
    config.include_server_header = False
    # libuv's event loop (uvloop) under each worker of `portal serve`: cheaper per request than
    # asyncio's own (bench/RESULTS.md). In-process servers (the demo, the tests) keep theirs.
    config.worker_class = "uvloop"
    return config
