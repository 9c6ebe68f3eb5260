"""`portal demo`'s command line: its options, and the command that runs it — importing the demo
(its vendor sites and their SAML and OpenID Connect client libraries) only when it is run, so
that every other `portal` command, `portal serve` first, starts without them."""

import argparse
from typing import Any

from portal.settings import Settings


def add_command(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="embedded Postgres + demo data + the portal + the demo vendor sites"
    )
    demo.add_argument("--host", default="127.0.0.1", help="the portal's address")
    demo.add_argument("--port", type=int, default=8000, help="the portal's port")
    demo.add_argument(
        "--vendor-port",
        type=int,
        default=8001,
        help="Acme Learning's port on localhost; CareerHub Jobs, Community Forum (OpenID "
        "Connect) and EventHub Conferences (SAML 2.0) take the next three",
    )
    demo.set_defaults(run=demo_command)


def demo_command(args: argparse.Namespace, settings: Settings) -> int:
    from portal.demo import run

    return run.demo_command(args, settings)
