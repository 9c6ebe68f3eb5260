"""A member's browser against a live portal (httpx with a cookie jar): sign in through an
authorization request and come back with the code, as a relying party receives it."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from portal import clock as portal_clock
from portal import create_app
from portal.settings import Settings
from tests.conftest import FakeClock, compiling_templates_once
from tests.flows import PASSWORD, csrf_of
from tests.live import bound_config, listening_socket, serving


async def sign_in_for(browser: httpx.AsyncClient, authorization_url: str) -> str:
    """Follow an authorization URL as a browser would, signing ada in on the way; returns the
    URL the portal sends the browser back to (the relying party's redirect URI)."""
    answer = await browser.get(authorization_url)
    assert answer.status_code == 303, answer.text
    location = answer.headers["Location"]
    if location.startswith("/sign-in?"):
        continuation = parse_qs(urlsplit(location).query)["next"][0]
        form = await browser.get(location)
        fields = {"csrf_token": csrf_of(form.text), "username": "ada", "password": PASSWORD}
        signed = await browser.post("/sign-in", data={**fields, "next": continuation})
        assert signed.status_code == 303, signed.text
        answer = await browser.get(signed.headers["Location"])
        assert answer.status_code == 303, answer.text
        location = answer.headers["Location"]
    return location


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def portal_environment(database_url: str, data_dir: Path) -> dict[str, str]:
    """The environment tests.flows.live_portal serves with, for the command line beside it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    env.update(PORTAL_ENV="development", PORTAL_SECRET_KEY="k" * 48, PORTAL_DATA_DIR=str(data_dir))
    env["DATABASE_URL"] = database_url
    return env


# At once (the compromised-key case): a relying party must then fetch the keys again itself.
ROTATE_KEYS = [sys.executable, "-m", "portal.cli", "keys", "rotate", "--now", "--json"]


def portal_command(database_url: str, data_dir: Path, *argv: str) -> str:
    """`portal …` as an operator runs it, beside the live portal; returns what it printed."""
    env = portal_environment(database_url, data_dir)
    command = [sys.executable, "-m", "portal.cli", *argv]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def rotate_keys(database_url: str, data_dir: Path) -> list[str]:
    """`portal keys rotate`, as an operator runs it; returns the new kids."""
    return list(json.loads(portal_command(database_url, data_dir, *ROTATE_KEYS[3:]))["kids"])


@contextmanager
def on_the_tests_clock(settings: Settings, clock: FakeClock, **changes: Any) -> Iterator[str]:
    """The portal over real HTTP (Hypercorn, as tests/live.py serves it), on the test's clock:
    a test moves time past a timeout instead of waiting for it. Yields its base URL, which is
    also its issuer."""
    bind, port = listening_socket("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    app = compiling_templates_once(
        create_app(settings.model_copy(update={"issuer": url, **changes}))
    )
    portal_clock.init_app(app, clock)
    with serving([(app, bound_config(bind, "portal"))], [f"{url}/healthz"]):
        yield url
