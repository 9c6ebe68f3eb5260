"""What a browser and a vendor do, over the ASGI test client: the steps the flow tests repeat."""

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

from quart.typing import TestClientProtocol as Client
from quart.wrappers import Response as TestHTTPResponseProtocol
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import members, vendors
from portal.auth.models import AuthSession
from portal.crypto import digest
from portal.enhanced import tokens
from portal.good_standing import Terms
from portal.models import Member, Vendor
from tests.ports import reserved_port

PASSWORD = "correct horse battery"
T = TypeVar("T")
ACME_TOKEN_URL = "https://acme-learning.com/sso/token"


@dataclass(frozen=True)
class VendorLogin:
    key: str
    secret: str

    def basic(self, secret: str | None = None) -> dict[str, str]:
        pair = f"{self.key}:{secret if secret is not None else self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def add_vendor(
    database_url: str, key: str = "acme", name: str = "Acme Learning", **changes: Any
) -> VendorLogin:
    domain = changes.pop("domain", "acme-learning.com")
    new = vendors.NewVendor(
        key=key,
        name=name,
        token_url=changes.pop("token_url", f"https://{domain}/sso/token"),
        domains=[domain],
        signout_url=changes.pop("signout_url", f"https://{domain}/goodbye"),
        **changes,
    )
    async with unit_of_work(database_url) as session:
        _, secret = await vendors.add_vendor(session, new, development=True)
    return VendorLogin(key, secret)


async def add_member(database_url: str, **values: Any) -> None:
    data = {
        "imis_id": "101",
        "username": "ada",
        "email": "ada@example.org",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "member_type": "REG",
        "paid_through": date(2030, 12, 31),
        **values,
    }
    async with unit_of_work(database_url) as session:
        await members.add_member(session, members.parse_member(data), PASSWORD)


@asynccontextmanager
async def unit_of_work(database_url: str) -> AsyncIterator[AsyncSession]:
    """A committed transaction on the test database, outside any request."""
    engine = engine_of_the_test(database_url)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


@lru_cache(maxsize=4)
def engine_of_the_test(database_url: str) -> AsyncEngine:
    """An engine for a test's own setup and checks, made once per test database (a new engine
    asks the server who it is before its first statement). Without a pool: every unit of work
    connects anew, so any thread's event loop may use it, and nothing stays connected."""
    return create_async_engine(database_url, poolclass=NullPool)


async def issue_token(database_url: str, vendor_key: str = "acme") -> str:
    """A token for the only member, issued to this vendor now, as if through a sign-in."""
    now = datetime.now(UTC)
    async with unit_of_work(database_url) as session:
        member = (await session.exec(select(Member))).one()
        vendor = (await session.exec(select(Vendor).where(Vendor.key == vendor_key))).one()
        portal_session = AuthSession(
            id_hash=digest(os.urandom(8).hex()),
            member_id=member.id,
            expires_at=now + timedelta(hours=1),
        )
        session.add(portal_session)
        await session.flush()
        conn = await raw_connection(session)
        raw = await tokens.issue(
            conn,
            vendor,
            portal_session,
            now=now,
            ttl=timedelta(minutes=5),
            terms=Terms(now.date()),
            client_address=None,
        )
        assert raw is not None, "the vendor's access rule refused the member"
        return raw


async def open_sids(database_url: str) -> list[str]:
    """The `sid` of every portal session still open, oldest first: what the user service
    returns in the member object, and logout tokens name."""
    query = select(AuthSession).where(col(AuthSession.ended_at).is_(None))
    async with unit_of_work(database_url) as session:
        return [row.sid for row in await session.exec(query.order_by(col(AuthSession.id)))]


async def raw_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under a test's session (in its transaction), for the functions of
    the hand-off paths, which take one."""
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection


class Inputs(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.forms: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden":
            self.hidden[values["name"] or ""] = values.get("value") or ""
        elif tag == "form":
            self.forms.append(values)
        elif tag == "script":
            self.scripts.append(values)


async def page(response: TestHTTPResponseProtocol) -> Inputs:
    return Inputs(await response.get_data(as_text=True))


async def sign_in(
    client: Client,
    login: str = "ada",
    password: str = PASSWORD,
    address: str = "203.0.113.7",
    **sso: str,
) -> TestHTTPResponseProtocol:
    """Open the sign-in page (as a browser would, for its CSRF token) and submit it."""
    form_page = await client.get("/sign-in", query_string=sso)
    csrf = (await page(form_page)).hidden["csrf_token"]
    form = {"csrf_token": csrf, "username": login, "password": password, **sso}
    return await client.post("/sign-in", form=form, scope_base={"client": (address, 40000)})


async def token_for(client: Client, **sso: str) -> str:
    """The token from the token-post page of a signed-in browser."""
    response = await client.get("/sso/signin", query_string=sso)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return (await page(response)).hidden["token"]


async def redeem(
    client: Client, vendor: VendorLogin, token: str, secret: str | None = None
) -> TestHTTPResponseProtocol:
    return await client.get(
        "/api/sso/user", query_string={"token": token}, headers=vendor.basic(secret)
    )


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms, as a browser would post it back."""
    found = Inputs(html).hidden.get("csrf_token")
    assert found, "the page has no CSRF token"
    return found


def token_value(html: str) -> str:
    """The one-time token on a token-post page."""
    return Inputs(html).hidden["token"]


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    """Until `url` answers. A deadline for a hung start, not a goal: beside the other xdist
    workers and a browser, a new Python process can take long to import the portal."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {seconds}s: {log.read_text()[-2000:]}")


@contextmanager
def live_portal(
    database_url: str | None, data_dir: Path, workers: int = 1, **settings: str
) -> Iterator[str]:
    """`portal serve` in development mode on a free 127.0.0.1 port; yields its base URL.
    Without a database URL it runs on the embedded Postgres under data_dir. `settings` are
    more environment variables (PORTAL_DIRECTORY="imis", say)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    env.update(PORTAL_ENV="development", PORTAL_SECRET_KEY="k" * 48, PORTAL_DATA_DIR=str(data_dir))
    env.update(settings)
    if database_url:
        env["DATABASE_URL"] = database_url
    log = data_dir / "portal.log"
    with reserved_port() as port:
        command = [sys.executable, "-m", "portal.cli", "serve", "--port", str(port)]
        with log.open("wb") as output:
            server = subprocess.Popen(
                [*command, "--workers", str(workers)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", server, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


def off_the_loop(work: Callable[[], T]) -> T:
    """Run `work` (which may call asyncio.run) in a thread of its own: during the e2e tests
    Playwright's sync API keeps an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()
