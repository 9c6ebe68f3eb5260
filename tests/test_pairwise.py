"""The key of pairwise subjects (portal/pairwise.py): stored once, as the key the portal used
before it stored one, and from then on independent of PORTAL_SECRET_KEY and of
PORTAL_PAIRWISE_SECRET, which only seeds it."""

import asyncio
import logging

import pytest

from portal import pairwise
from portal.settings import Settings
from tests.cli_runner import Runner
from tests.flows import unit_of_work

CHOSEN = "a-pairwise-secret-that-is-long-and-random-enough-Zr8Ka2Wq"


async def stored_key(database_url: str, settings: Settings) -> bytes:
    async with unit_of_work(database_url) as session:
        return await pairwise.stored_key(session, settings=settings)


async def test_a_configured_pairwise_secret_seeds_the_key_and_is_then_ignored(
    database_url: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    chosen = settings.model_copy(update={"pairwise_secret": CHOSEN})
    assert await stored_key(database_url, chosen) == CHOSEN.encode()
    changed = chosen.model_copy(update={"pairwise_secret": CHOSEN[::-1]})
    with caplog.at_level(logging.WARNING, "portal.pairwise"):
        assert await stored_key(database_url, changed) == CHOSEN.encode()
    assert "PORTAL_PAIRWISE_SECRET differs from the stored pairwise key" in caplog.text
    assert CHOSEN not in caplog.text and CHOSEN[::-1] not in caplog.text
    unset = settings.model_copy(update={"pairwise_secret": None})
    assert await stored_key(database_url, unset) == CHOSEN.encode()


def test_db_upgrade_stores_the_key_the_release_before_used(portal: Runner) -> None:
    secret = "the-secret-key-of-this-release-long-and-random-Kx3Nw7Qa"
    portal.monkeypatch.setenv("PORTAL_SECRET_KEY", secret)
    assert portal("db", "upgrade")[0] == 0
    settings = Settings(secret_key=secret, database_url=portal.url)
    assert asyncio.run(stored_key(portal.url, settings)) == pairwise.seed(settings)
    rotated = settings.model_copy(update={"secret_key": "x" * 48, "secret_key_fallbacks": secret})
    assert asyncio.run(stored_key(portal.url, rotated)) == pairwise.seed(settings)
