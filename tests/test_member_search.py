"""Searching members ignores accents and case (issue 26, item 5): the words staff type and the
names they find are compared in one folded form, whichever way a member was written."""

import asyncio
from datetime import UTC, datetime

import alembic.command

from portal import db, members, search_text
from portal.directory import imis_directory
from portal.directory.imis import ImisProfile
from tests.flows import add_member, unit_of_work
from tests.test_migration_session_vendor import run

NOW = datetime(2026, 12, 8, tzinfo=UTC)


def test_the_folded_form_drops_accents_and_case() -> None:
    assert search_text.fold("Müller") == "muller"
    assert search_text.fold("GARÇON") == "garcon"
    assert search_text.fold("Straße") == "strasse"
    assert search_text.fold("Søren Łukasz Æsir") == "soren lukasz aesir"
    assert search_text.fold("ﬁne") == "fine"


async def found(database_url: str, q: str) -> list[str]:
    async with unit_of_work(database_url) as db:
        return [m.username for m in await members.search_members(db, q, limit=10)]


async def test_a_member_mirrored_from_imis_is_found_without_accents(database_url: str) -> None:
    profile = ImisProfile("501", "zoe", {"FirstName": "Zoë", "LastName": "Brontë"})
    async with unit_of_work(database_url) as db:
        await imis_directory.refresh(db, profile, NOW)
    assert await found(database_url, "zoe bronte") == ["zoe"]
    renamed = ImisProfile("501", "zoe", {"FirstName": "Zoë", "LastName": "Gaskell-Núñez"})
    async with unit_of_work(database_url) as db:
        await imis_directory.refresh(db, renamed, NOW)
    assert await found(database_url, "bronte") == []
    assert await found(database_url, "nunez") == ["zoe"]


async def test_like_wildcards_are_plain_characters(database_url: str) -> None:
    await add_member(database_url, last_name="Lövelace")
    assert await found(database_url, "lov%") == []
    assert await found(database_url, "_ovelace") == []
    assert await found(database_url, "LOVE") == ["ada"]


def test_migration_0021_folds_the_members_already_stored(database_url: str) -> None:
    config = db.alembic_config(database_url)
    alembic.command.downgrade(config, "0020")
    asyncio.run(
        run(
            database_url,
            "INSERT INTO member (imis_id, username, email, last_name, source, member_status, "
            "enabled) VALUES ('7', 'jm', 'j@example.org', 'Müller', 'local', 'A', true)",
        )
    )
    alembic.command.upgrade(config, "head")
    assert asyncio.run(found(database_url, "MULLER")) == ["jm"]
