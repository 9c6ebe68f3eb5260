"""`portal serve` and `portal demo`: run the portal under Hypercorn."""

import argparse
import os
from typing import Any

from hypercorn.config import Config
from hypercorn.run import run

from portal import db, directory
from portal.demo import data as demo_data
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

    demo = commands.add_parser("demo", help="embedded Postgres + demo data + the portal")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(run=demo_command, workers=1)


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    check_bind(args)
    settings.check_can_serve()
    directory.for_settings(settings)  # a misconfigured directory stops us here, in one line
    # Workers are separate processes: they find the database (embedded or not) in DATABASE_URL.
    os.environ["DATABASE_URL"] = db.prepare_database(settings)
    os.environ["PORTAL_ENV"] = settings.env
    print(f"portal ({settings.env}) on http://{args.host}:{args.port}/", flush=True)
    return hypercorn(args)


def demo_command(args: argparse.Namespace, settings: Settings) -> int:
    check_bind(args)
    os.environ["DATABASE_URL"] = db.prepare_database(settings)
    os.environ["PORTAL_ENV"] = "development"
    db.run_in_session(settings, demo_data.ensure)
    print(demo_data.describe(f"http://{args.host}:{args.port}"), flush=True)
    return hypercorn(args)


def check_bind(args: argparse.Namespace) -> None:
    if not 0 < args.port < 65536:
        raise PortalError(f"--port must be 1-65535, not {args.port}")
    if not 1 <= args.workers <= 64:
        raise PortalError(f"--workers must be 1-64, not {args.workers}")


def hypercorn(args: argparse.Namespace) -> int:
    config = Config()
    config.application_path = "portal.asgi:app"
    config.bind = [f"{args.host}:{args.port}"]
    config.workers = args.workers
    config.accesslog = "-"
    config.access_log_format = ACCESS_LOG_FORMAT
    return run(config)
