"""Nothing is lost when the portal dies mid-delivery (issue 16): real `portal serve` processes,
a real receiver on loopback. One vendor acts on its logout token and then hangs; the portal is
killed (SIGKILL: no clean shutdown) while it waits, and another portal started on the same
database sends the notice again once the dead one's lease has run out.

Delivery is at least once: the second POST carries the same `jti`, which is how the receiver
(as docs/single-logout.md tells vendors) knows it acted already. From its view each vendor is
signed out exactly once."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from tests.flows import add_member, add_vendor, csrf_of, unit_of_work, wait_for
from tests.logout_receiver import Receiver, receiving

VENDORS = ("acme", "careerhub", "events")
WAIT_SECONDS = 60


@contextmanager
def portal_process(
    database_url: str, data_dir: Path, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """`portal serve` in a process group of its own, so the test can kill all of it at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    env.update(
        PORTAL_ENV="development",
        PORTAL_SECRET_KEY="k" * 48,
        PORTAL_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        PORTAL_ISSUER=f"http://127.0.0.1:{port}",
        PORTAL_LOGOUT_TIMEOUT_SECONDS="3",
        PORTAL_LOGOUT_LEASE_SECONDS="6",  # at least twice the timeout
    )
    log = data_dir / f"portal-{time.monotonic_ns()}.log"
    command = [sys.executable, "-m", "portal.cli", "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process, log)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=30)


def published_keys(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=5) as answer:
        jwks_uri = json.load(answer)["jwks_uri"]
    with urllib.request.urlopen(jwks_uri, timeout=5) as answer:
        keys: dict[str, Any] = json.load(answer)
    return keys


def visit_and_sign_out(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as browser:
        form = {"csrf_token": csrf_of(browser.get("/sign-in").text), "username": "ada"}
        signed_in = browser.post("/sign-in", data={**form, "password": "correct horse battery"})
        assert signed_in.status_code == 303, signed_in.text
        for key in VENDORS:
            assert browser.get("/sso/signin", params={"vendor": key}).status_code == 200
        home = browser.get("/").text
        assert browser.post("/sign-out", data={"csrf_token": csrf_of(home)}).status_code == 303


def delivered(database_url: str) -> dict[str, int]:
    """{vendor key: attempts} of the delivered notices."""

    async def query() -> dict[str, int]:
        async with unit_of_work(database_url) as session:
            rows = await session.exec(  # type: ignore[call-overload]
                text(
                    "SELECT v.key, d.attempts FROM outbox d "
                    "JOIN vendor v ON v.id = d.vendor_id WHERE d.delivered_at IS NOT NULL"
                )
            )
            return {key: attempts for key, attempts in rows}

    return asyncio.run(query())


def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_portal_killed_mid_delivery_loses_no_notice_and_sends_none_twice_in_effect(
    database_url: str, tmp_path: Path, own_port: int
) -> None:
    port = own_port  # both portals serve there
    base = f"http://127.0.0.1:{port}"
    receiver = Receiver(base, fetch_keys=lambda: published_keys(base), hang_first={"acme"})
    with receiving(receiver):

        async def seed() -> None:
            await add_member(database_url)
            for key in VENDORS:
                url = receiver.url(key)
                await add_vendor(
                    database_url, key, key, domain="127.0.0.1", backchannel_logout_url=url
                )

        asyncio.run(seed())
        with portal_process(database_url, tmp_path, port) as first:
            visit_and_sign_out(base)
            assert receiver.hanging.wait(WAIT_SECONDS), "acme's notice never arrived"
            wait_until(lambda: len(delivered(database_url)) == 2, "the other two notices")
            os.killpg(first.pid, signal.SIGKILL)  # mid-delivery: acme has acted, no answer yet
            first.wait(timeout=30)
        assert "acme" not in delivered(database_url)

        with portal_process(database_url, tmp_path, port):
            wait_until(lambda: "acme" in delivered(database_url), "the notice after the restart")

    assert receiver.problems == []
    assert delivered(database_url) == {"acme": 2, "careerhub": 1, "events": 1}
    # Each vendor acted on one notice; acme was sent its notice twice, with the same jti.
    assert {key: len(receiver.jtis(key)) for key in VENDORS} == dict.fromkeys(VENDORS, 1)
    acme = [post for post in receiver.posts if post.vendor == "acme"]
    assert [(post.jti, post.repeat) for post in acme] == [
        (receiver.jtis("acme")[0], False),
        (receiver.jtis("acme")[0], True),
    ]
    assert len(receiver.posts) == 4
