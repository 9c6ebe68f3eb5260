"""Slow clients and a full connection pool, through a real server (`portal serve`): a body that
never arrives holds nothing, and requests that find every connection busy get a fast 503."""

import asyncio
import base64
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.flows import VendorLogin, issue_token, live_portal

SLOW_CLIENTS = 30  # more than the pool's 20 connections


@pytest.fixture
def portal(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, workers=1) as url:
        yield url


def stalled_post(url: str, vendor: VendorLogin) -> socket.socket:
    """A valid vendor call whose body never arrives (it says 100 bytes and sends 6)."""
    where = urlsplit(url)
    sock = socket.create_connection((where.hostname, where.port), timeout=5)
    basic = base64.b64encode(f"{vendor.key}:{vendor.secret}".encode()).decode()
    sock.sendall(
        (
            f"POST /api/sso/user HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Authorization: Basic {basic}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntoken="
        ).encode()
    )
    return sock


def unanswered(sock: socket.socket) -> bool:
    """Still open and nothing sent back (neither an answer nor a closed connection)."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    return False


@pytest.mark.usefixtures("ada")
async def test_bodies_that_never_arrive_hold_no_connection_and_no_lock(
    portal: str, database_url: str, acme: VendorLogin
) -> None:
    stalled = [stalled_post(portal, acme) for _ in range(SLOW_CLIENTS)]
    try:
        token = await issue_token(database_url)
        async with httpx.AsyncClient(base_url=portal, timeout=20) as client:
            redeemed = await client.post(
                "/api/sso/user", data={"token": token}, auth=(acme.key, acme.secret)
            )
            sign_in = await client.get("/sso/signin", params={"vendor": "acme"})
        assert redeemed.status_code == 200  # the vendor's next call does not queue behind them
        assert sign_in.status_code == 303  # and members still get through
        assert all(unanswered(sock) for sock in stalled)  # while they are all still waiting
    finally:
        for sock in stalled:
            sock.close()


@pytest.mark.usefixtures("acme")
async def test_a_full_pool_is_a_fast_503_never_a_500(portal: str, database_url: str) -> None:
    """A lock held on the vendor table stalls every sign-in on a pooled connection; requests
    beyond the pool get a 503 with Retry-After instead of waiting on; all end once it goes."""
    engine = create_async_engine(database_url)
    async with (
        httpx.AsyncClient(base_url=portal, timeout=60) as client,
        engine.connect() as locker,
    ):
        await locker.execute(text("LOCK TABLE vendor IN ACCESS EXCLUSIVE MODE"))
        requests = [
            asyncio.ensure_future(client.get("/sso/signin", params={"vendor": "acme"}))
            for _ in range(SLOW_CLIENTS)
        ]
        done, _ = await asyncio.wait(requests, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        refused = [r.result() for r in done]
        await locker.rollback()  # the lock goes: the stalled requests go on
        answers = refused + [await r for r in requests if r not in done]
    await engine.dispose()
    assert refused and all(r.status_code == 503 for r in refused)
    assert refused[0].headers["Retry-After"] == "10"
    assert {r.status_code for r in answers} == {303, 503}
