"""Load benchmark of the SSO hot paths against a live `portal serve` (not a test: it prints
figures, asserts nothing). Bounded: it stops after --seconds and cleans up after itself.

    uv run python bench/sso_load.py --seconds 15 --concurrency 16 --workers 2

Phases, each measured on its own:
1. sign-in: members post the sign-in form (argon2id makes this CPU-bound by design);
2. hand-off: a signed-in member's silent re-issue (GET /sso/signin -> token-post page) and the
   vendor's redemption (POST /api/sso/user) — what every move between vendor sites costs.
Set DATABASE_URL to measure against a Postgres server; otherwise an embedded one is used.
"""

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import db, members, vendors
from portal.settings import Settings

PASSWORD = "bench password 1"
HIDDEN = re.compile(r'name="(\w+)" value="([^"]*)"')


async def seed(url: str, count: int) -> str:
    engine = db.create_engine(url)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        new = vendors.NewVendor("bench", "Bench Vendor", "http://localhost:9/token", ["localhost"])
        _, secret = await vendors.add_vendor(session, new, development=True)
        for n in range(count):
            data = members.parse_member(
                {"imis_id": f"B{n}", "username": f"bench{n}", "email": f"bench{n}@example.org"}
            )
            await members.add_member(session, data, PASSWORD)
    await engine.dispose()
    return secret


def start_portal(url: str, data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORTAL_ENV": "development",
        "PORTAL_SECRET_KEY": "b" * 48,
        "PORTAL_DATA_DIR": str(data_dir),
        "PORTAL_API_RATE_PER_MINUTE": "1000000",
        "PORTAL_THROTTLE_ADDRESS_FAILURES": "1000000",
    }
    command = [sys.executable, "-m", "portal.cli", "serve", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def sign_in(client: httpx.AsyncClient, n: int) -> float:
    client.cookies.clear()  # a fresh browser each time
    started = time.perf_counter()
    page = await client.get("/sign-in")
    assert page.status_code == 200, (page.status_code, page.text[:300])
    csrf = dict(HIDDEN.findall(page.text))["csrf_token"]
    form = {"csrf_token": csrf, "username": f"bench{n}", "password": PASSWORD}
    response = await client.post("/sign-in", data=form)
    assert response.status_code == 303, response.status_code
    return time.perf_counter() - started


async def hand_off(client: httpx.AsyncClient, secret: str) -> float:
    started = time.perf_counter()
    page = await client.get("/sso/signin", params={"vendor": "bench"})
    token = dict(HIDDEN.findall(page.text))["token"]
    answer = await client.post("/api/sso/user", data={"token": token}, auth=("bench", secret))
    assert answer.status_code == 200, answer.status_code
    return time.perf_counter() - started


async def run_for(seconds: float, steps: list[Callable[[], Awaitable[float]]]) -> list[float]:
    """Run every step over and over, concurrently, until the time is up; collect the timings."""
    deadline, timings = time.monotonic() + seconds, []

    async def loop(step: Callable[[], Awaitable[float]]) -> None:
        while time.monotonic() < deadline:
            timings.append(await step())

    await asyncio.gather(*(loop(step) for step in steps))
    return timings


def report(name: str, timings: list[float], seconds: float) -> str:
    ms = sorted(t * 1000 for t in timings)
    p95 = ms[int(len(ms) * 0.95) - 1] if ms else 0
    return (
        f"{name:10} {len(ms) / seconds:8.1f}/s   p50 {statistics.median(ms):7.1f} ms   "
        f"p95 {p95:7.1f} ms   n={len(ms)}"
    )


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as temp:
        data_dir = Path(temp)
        url = db.prepare_database(Settings(env="development", data_dir=data_dir))
        secret = asyncio.run(seed(url, args.concurrency))
        port = 18000 + os.getpid() % 1000
        server = start_portal(url, data_dir, port, args.workers)
        try:
            figures = asyncio.run(load(f"http://127.0.0.1:{port}", secret, args))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded"
    print(f"workers={args.workers} concurrency={args.concurrency} database={database}")
    print("\n".join(figures))


async def load(base: str, secret: str, args: argparse.Namespace) -> list[str]:
    await wait(f"{base}/healthz")
    clients = [httpx.AsyncClient(base_url=base, timeout=30) for _ in range(args.concurrency)]
    half = args.seconds / 2
    try:
        await asyncio.gather(*(sign_in(c, n) for n, c in enumerate(clients)))
        signing = [partial(sign_in, c, n) for n, c in enumerate(clients)]
        signins = await run_for(half, signing)
        hands = await run_for(half, [partial(hand_off, c, secret) for c in clients])
    finally:
        for client in clients:
            await client.aclose()
    return [report("sign-in", signins, half), report("hand-off", hands, half)]


async def wait(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    main(parser.parse_args())
