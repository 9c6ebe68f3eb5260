"""Live servers for tests that need real HTTP: the portal and the demo vendor sites, served by
Hypercorn exactly as `portal demo` serves them, in a background thread with its own event loop."""

import asyncio
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypercorn.config import Config
from quart import Quart
from sqlalchemy import text

from portal import create_app
from portal.demo import data as demo_data
from portal.demo.mailbox import Mailbox, running
from portal.demo.run import create_site_app, demo_sites, serve_all, server_config, with_mailbox
from portal.demo.vendor import VendorSite
from portal.settings import Settings
from tests.conftest import TEST_SECRET_KEY, compiling_templates_once
from tests.flows import off_the_loop, unit_of_work
from tests.ports import listening_socket, reserved_port

ACME, CAREERHUB, FORUM, EVENTHUB = "acme-learning", "careerhub", "community-forum", "eventhub"


@dataclass(frozen=True)
class LiveDemo:
    portal_url: str  # http://127.0.0.1:<port>
    vendor_urls: dict[str, str]  # vendor key -> http://localhost:<port>
    sites: dict[str, VendorSite]
    database_url: str


def bound_config(bind: str, name: str) -> Config:
    config = server_config("127.0.0.1", 0, name)
    config.bind = [bind]
    config.accesslog = None  # keep test output quiet; errors still show
    config.graceful_timeout = 1
    return config


@contextmanager
def serving(servers: Sequence[tuple[Quart, Config]], urls: Sequence[str]) -> Iterator[None]:
    """Serve the apps until the block ends; each of `urls` answers before the block starts."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []
    stop: list[asyncio.Event] = []

    async def main() -> None:
        stop.append(asyncio.Event())
        ready.set()
        await serve_all(servers, stop[0])

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="live-servers", daemon=True)
    thread.start()
    try:
        ready.wait(10)
        for url in urls:
            wait_for(url, thread, failure)
        yield
    finally:
        if stop and not loop.is_closed():
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(15)
    assert not thread.is_alive(), "the live servers did not stop"


def wait_for(url: str, thread: threading.Thread, failure: list[BaseException]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if failure or not thread.is_alive():
            raise AssertionError(f"the live servers stopped: {failure!r}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer in 20 s")


async def seed(database_url: str, origins: dict[str, str]) -> None:
    async with unit_of_work(database_url) as session:
        await demo_data.ensure(session, origins)


@contextmanager
def live_demo(
    database_url: str, data_dir: Path, *, mailbox: Mailbox | None = None, **settings: Any
) -> Iterator[LiveDemo]:
    """What `portal demo` runs, on this test's database: the demo data, the portal on
    127.0.0.1 and the demo vendors on localhost, each on a free port."""
    portal_bind, portal_port = listening_socket("127.0.0.1")
    vendor_binds = {key: listening_socket("localhost") for key, _, _ in demo_data.DEMO_VENDORS}
    portal_url = f"http://127.0.0.1:{portal_port}"
    origins = {key: f"http://localhost:{port}" for key, (_, port) in vendor_binds.items()}
    off_the_loop(lambda: asyncio.run(seed(database_url, origins)))
    with ExitStack() as stack:
        if mailbox is not None:  # as `portal demo` runs: its mail goes to a sink on loopback
            port = stack.enter_context(reserved_port())
            smtp_url = stack.enter_context(running(mailbox, port))
            settings = {**settings, "smtp_url": smtp_url, "mail_from": "Portal <p@localhost>"}
        config = Settings(
            env="development",
            database_url=database_url,
            data_dir=data_dir,
            secret_key=TEST_SECRET_KEY,
            **{"issuer": portal_url, **settings},
        )
        yield from _serve_demo(config, portal_bind, portal_url, vendor_binds, origins, mailbox)


def _serve_demo(
    config: Settings,
    portal_bind: str,
    portal_url: str,
    vendor_binds: dict[str, tuple[str, int]],
    origins: dict[str, str],
    mailbox: Mailbox | None,
) -> Iterator[LiveDemo]:
    sites = {site.key: site for site in demo_sites(config, portal_url, origins)}
    portal = compiling_templates_once(create_app(config))
    if mailbox is not None:
        with_mailbox(portal, mailbox)
    servers = [(portal, bound_config(portal_bind, "portal"))]
    for key, site in sites.items():
        site_app = compiling_templates_once(create_site_app(site))
        servers.append((site_app, bound_config(vendor_binds[key][0], key)))
    urls = [f"{portal_url}/healthz", *(f"{origin}/" for origin in origins.values())]
    with serving(servers, urls):
        yield LiveDemo(portal_url, origins, sites, config.database_url or "")


DELIVERY_SECONDS = 20  # the portal's worker polls every second; this machine is shared


def delivered_to(demo: LiveDemo, vendor_key: str) -> bool:
    async def query() -> bool:
        async with unit_of_work(demo.database_url) as session:
            found = await session.exec(  # type: ignore[call-overload]
                text(
                    "SELECT count(*) FROM outbox d JOIN vendor v ON v.id = d.vendor_id "
                    "WHERE v.key = :key AND d.delivered_at IS NOT NULL"
                ).bindparams(key=vendor_key)
            )
            return bool(found.scalar_one())

    return off_the_loop(lambda: asyncio.run(query()))


def wait_for_delivery(demo: LiveDemo, vendor_key: str) -> None:
    """Until the portal's worker has recorded the vendor's 200: delivery runs beside the
    member's browser, not in it."""
    deadline = time.monotonic() + DELIVERY_SECONDS
    while not delivered_to(demo, vendor_key):
        assert time.monotonic() < deadline, f"no back-channel logout reached {vendor_key}"
        time.sleep(0.2)


@contextmanager
def live_app(settings: Settings) -> Iterator[tuple[str, Settings]]:
    """The portal alone, served by Hypercorn on a free 127.0.0.1 port in a thread, with its
    issuer set to its own address: yields (base URL, the settings it runs with)."""
    bind, port = listening_socket("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    config = settings.model_copy(update={"issuer": url})
    app = compiling_templates_once(create_app(config))
    with serving([(app, bound_config(bind, "portal"))], [f"{url}/healthz"]):
        yield url, config
