"""`portal demo`: the embedded Postgres, the demo data, the portal and the demo vendor sites.

One process, one event loop: Hypercorn serves the portal on 127.0.0.1 and each demo vendor on
localhost (another origin, so the browser keeps their cookies apart). Ctrl-C stops all of them
together, and the embedded Postgres stops when this process, its last user, exits."""

import argparse
import asyncio
import hashlib
import hmac
import signal
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import create_app, db, directory, secret_key
from portal.demo import activity, terminal
from portal.demo import data as demo_data
from portal.demo import mailbox as mailboxes
from portal.demo.oidc_vendor import create_oidc_vendor_app
from portal.demo.saml_vendor import create_saml_vendor_app
from portal.demo.vendor import VendorSite, create_vendor_app
from portal.errors import PortalError
from portal.serve import base_config
from portal.settings import Settings

VENDOR_HOST = "localhost"
PORTAL = "portal"


def demo_command(args: argparse.Namespace, settings: Settings) -> int:
    vendor_ports = check_ports(args)
    directory.for_settings(settings)  # a misconfigured directory stops us here, in one line
    portal_url = f"http://{browser_host(args.host)}:{args.port}"
    origins = {
        key: f"http://{VENDOR_HOST}:{port}"
        for (key, _, _), port in zip(demo_data.DEMO_VENDORS, vendor_ports, strict=True)
    }
    terminal.configure(addresses(args.port, portal_url, vendor_ports, origins))
    url = db.prepare_database(settings)
    # The issuer the demo vendors' back-channel logout tokens carry (portal/logout_notices.py).
    issuer = settings.issuer or portal_url
    settings = settings.model_copy(
        update={"env": "development", "database_url": url, "issuer": issuer}
    )
    db.run_in_session(settings, lambda session: prepare(session, origins))
    mailbox = mailboxes.Mailbox()
    with mailboxes.running(mailbox, mailboxes.free_port()) as smtp_url:
        settings = settings.model_copy(update=mail_settings(settings, smtp_url))
        print(demo_data.describe(portal_url, origins), flush=True)
        print(f"caught mail (password links) {portal_url}/dev/mail", flush=True)
        portal = with_mailbox(create_app(settings), mailbox)
        servers = [(portal, server_config(args.host, args.port, PORTAL))]
        for site, port in zip(demo_sites(settings, portal_url, origins), vendor_ports, strict=True):
            servers.append((create_site_app(site), server_config(VENDOR_HOST, port, site.key)))
        asyncio.run(serve_until_signalled(servers))
    return 0


def mail_settings(settings: Settings, smtp_url: str) -> dict[str, str]:
    """The portal's mail goes to the demo's SMTP sink, never out of the machine."""
    return {"smtp_url": smtp_url, "mail_from": f"{settings.association_name} <portal@localhost>"}


def with_mailbox(app: Quart, mailbox: mailboxes.Mailbox) -> Quart:
    """The portal with /dev/mail, the page of the caught messages (development only)."""
    app.extensions["demo_mailbox"] = mailbox
    app.register_blueprint(mailboxes.blueprint)
    return app


async def prepare(session: AsyncSession, origins: Mapping[str, str]) -> None:
    """The demo data, and on a first run a month of activity for the dashboard to show."""
    await demo_data.ensure(session, origins)
    await activity.seed_demo(session, now=datetime.now(UTC))


def addresses(
    port: int, portal_url: str, vendor_ports: Sequence[int], origins: Mapping[str, str]
) -> dict[int, str]:
    """Each server, by port, named as the banner names it (Hypercorn would say 127.0.0.1 for
    the vendors the banner puts on localhost)."""
    names = {key: name for key, name, _ in demo_data.DEMO_VENDORS}
    found = {port: f"The portal at {portal_url}/"}
    for (key, origin), vendor_port in zip(origins.items(), vendor_ports, strict=True):
        found[vendor_port] = f"{names[key]} at {origin}/"
    return found


def check_ports(args: argparse.Namespace) -> list[int]:
    """The vendor ports, once every port is known to be valid, distinct and free."""
    vendor_ports = [args.vendor_port + i for i in range(len(demo_data.DEMO_VENDORS))]
    if not 0 < args.port < 65536:
        raise PortalError(f"--port must be 1-65535, not {args.port}")
    if not 0 < args.vendor_port <= 65536 - len(vendor_ports):
        last = 65536 - len(vendor_ports)
        raise PortalError(f"--vendor-port must be 1-{last}, not {args.vendor_port}")
    if args.port in vendor_ports:
        raise PortalError(f"--port {args.port} collides with the vendor ports {vendor_ports}")
    for host, port in [(args.host, args.port)] + [(VENDOR_HOST, p) for p in vendor_ports]:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise PortalError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return vendor_ports


def browser_host(host: str) -> str:
    """The host for links: a wildcard address is reachable at the loopback address."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104 - compared only


def demo_sites(settings: Settings, portal_url: str, origins: Mapping[str, str]) -> list[VendorSite]:
    """The demo vendor apps, configured as each vendor would be: key, secret, portal URL."""
    signing_key = secret_key.in_use(settings).encode()
    return [
        VendorSite(
            key=key,
            secret=demo_data.demo_secret(key),
            name=name,
            site_url=origins[key],
            portal_url=portal_url,
            association=settings.association_name,
            # Stable across restarts (derived from the portal's development key), yet unlike it.
            cookie_secret=hmac.new(
                signing_key, f"demo-vendor:{key}".encode(), hashlib.sha256
            ).hexdigest(),
            theme=theme,
        )
        for key, name, theme in demo_data.DEMO_VENDORS
    ]


def create_site_app(site: VendorSite) -> Quart:
    """A demo vendor's app: Enhanced SSO, or OpenID Connect or SAML for the demo's vendors of
    those."""
    if site.key in demo_data.OIDC_VENDORS:
        return create_oidc_vendor_app(site)
    if site.key in demo_data.SAML_VENDORS:
        return create_saml_vendor_app(site)
    return create_vendor_app(site)


def server_config(host: str, port: int, name: str) -> Config:
    config = base_config()
    config.bind = [f"{host}:{port}"]
    if name != PORTAL:  # the portal logs its own requests (portal/observe.py)
        config.accesslog = terminal.site_logger(name)
    config.graceful_timeout = 3
    return config


async def serve_until_signalled(servers: Sequence[tuple[Quart, Config]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve_all(servers, stop)


async def serve_all(servers: Sequence[tuple[Quart, Config]], stop: asyncio.Event) -> None:
    """Serve every app until `stop` is set; when one of them fails, the others stop too."""
    tasks = [
        asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
        for app, config in servers
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
