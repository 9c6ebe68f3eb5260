"""No login name names two members: usernames never hold an @, emails always do."""

import asyncio

import alembic.command
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from portal import db, members
from portal.errors import InvalidField
from portal.member_csv import read_rows
from portal.member_import import import_rows
from portal.models import Member
from tests.flows import add_member, unit_of_work


async def no_audit(member: Member) -> None:
    return None


async def test_a_username_that_looks_like_an_email_is_refused_everywhere(
    database_url: str,
) -> None:
    """The CSV row that took Grace's email sign-in over is refused, and the database refuses it
    too, whatever path writes it."""
    await add_member(database_url, imis_id="102", username="grace", email="grace@example.org")
    rows = read_rows(b"imis_id,username\n103,grace@example.org\n")
    async with unit_of_work(database_url) as session:
        report = await import_rows(session, rows, added=no_audit)
    assert [r.reason for r in report.rejected] == [
        "Username must not contain @ (members can sign in with their email instead)."
    ]
    with pytest.raises(InvalidField):
        members.parse_member({"imis_id": "104", "username": "x@example.org"})
    with pytest.raises(IntegrityError):
        async with unit_of_work(database_url) as session:
            session.add(Member(imis_id="105", username="grace@example.org"))


async def test_an_email_login_finds_the_member_with_that_email(database_url: str) -> None:
    await add_member(database_url, imis_id="102", username="grace", email="grace@example.org")
    async with unit_of_work(database_url) as session:
        # an iMIS mirror may carry an @ in its username: it never wins over an email
        session.add(Member(imis_id="900", username="grace@example.org", source="imis"))
    async with unit_of_work(database_url) as session:
        by_email = await members.select_member_by_login(session, "Grace@Example.org")
        by_name = await members.select_member_by_login(session, "GRACE")
    assert by_email is not None and by_email.imis_id == "102"
    assert by_name is not None and by_name.imis_id == "102"


def test_the_migration_names_what_must_change_first(database_url: str) -> None:
    config = db.alembic_config(database_url)
    alembic.command.downgrade(config, "0001")

    async def add_a_clash() -> None:
        async with unit_of_work(database_url) as session:
            await session.execute(
                text(
                    "INSERT INTO member (imis_id, username, member_status, source, enabled) "
                    "VALUES ('1', 'a@example.org', 'A', 'local', true)"
                )
            )

    asyncio.run(add_a_clash())
    with pytest.raises(RuntimeError, match="1 local member"):
        alembic.command.upgrade(config, "head")
