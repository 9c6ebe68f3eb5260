"""`portal serve`: run the portal under Hypercorn (`portal demo` is in portal/demo/run.py)."""

import argparse
import os
from typing import Any

from hypercorn.config import Config
from hypercorn.run import run

from portal import db, directory
from portal.access_log import AccessLogger
from portal.errors import PortalError
from portal.settings import Settings

# No query strings and no Referer in the access log: a token must never land in a log file.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(L)ss "%(a)s"'


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the identity provider (Hypercorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=serve_command)


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    check_bind(args)
    settings.check_can_serve()
    directory.for_settings(settings)  # a misconfigured directory stops us here, in one line
    # Workers are separate processes: they find the database (embedded or not) in DATABASE_URL.
    os.environ["DATABASE_URL"] = db.prepare_database(settings)
    os.environ["PORTAL_ENV"] = settings.env
    print(f"portal ({settings.env}) on http://{args.host}:{args.port}/", flush=True)
    return hypercorn(args)


def check_bind(args: argparse.Namespace) -> None:
    if not 0 < args.port < 65536:
        raise PortalError(f"--port must be 1-65535, not {args.port}")
    if not 1 <= args.workers <= 64:
        raise PortalError(f"--workers must be 1-64, not {args.workers}")


def hypercorn(args: argparse.Namespace) -> int:
    config = base_config()
    config.application_path = "portal.asgi:app"
    config.bind = [f"{args.host}:{args.port}"]
    config.workers = args.workers
    return run(config)


def base_config() -> Config:
    """What every Hypercorn server of ours shares: `portal serve`, `portal demo`, the tests'."""
    config = Config()
    config.accesslog = "-"
    config.access_log_format = ACCESS_LOG_FORMAT
    config.logger_class = AccessLogger  # a request cannot forge a log line
    # A Server header only tells an attacker which advisories to try.
    config.include_server_header = False
    # libuv's event loop (uvloop) under each worker of `portal serve`: cheaper per request than
    # asyncio's own (bench/RESULTS.md). In-process servers (the demo, the tests) keep theirs.
    config.worker_class = "uvloop"
    return config
