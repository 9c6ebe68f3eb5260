"""Password hashes upgrade themselves: a hash made with older (weaker) parameters is replaced by
one with today's at the next successful sign-in, for members and staff alike."""

import pytest
from argon2 import PasswordHasher
from quart import Quart
from sqlalchemy import text

from portal.auth.passwords import HASHER
from tests.admin.browser import STAFF_PASSWORD, Browser, add_staff
from tests.flows import PASSWORD, sign_in, unit_of_work

OLD = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
pytestmark = pytest.mark.usefixtures("production_hashing", "ada")


QUERIES = {  # the one account of each table
    "member": ("SELECT password_hash FROM member", "UPDATE member SET password_hash = :h"),
    "staff": ("SELECT password_hash FROM staff", "UPDATE staff SET password_hash = :h"),
}


async def stored(database_url: str, table: str) -> str:
    async with unit_of_work(database_url) as session:
        return str((await session.execute(text(QUERIES[table][0]))).scalar_one())


async def store(database_url: str, table: str, password_hash: str) -> None:
    async with unit_of_work(database_url) as session:
        await session.execute(text(QUERIES[table][1]), {"h": password_hash})


async def test_a_members_old_hash_is_replaced_at_sign_in(app: Quart, database_url: str) -> None:
    await store(database_url, "member", OLD.hash(PASSWORD))
    assert (await sign_in(app.test_client(), password="wrong!")).status_code == 401
    assert "m=8192,t=1" in await stored(database_url, "member")  # a wrong password changes nothing
    assert (await sign_in(app.test_client())).status_code == 303
    upgraded = await stored(database_url, "member")
    assert "m=19456,t=2,p=1" in upgraded and not HASHER.check_needs_rehash(upgraded)
    assert (await sign_in(app.test_client())).status_code == 303  # and it still works


async def test_a_staff_members_old_hash_is_replaced_at_sign_in(
    app: Quart, database_url: str
) -> None:
    await add_staff(database_url, "jo@example.org", "admin")
    await store(database_url, "staff", OLD.hash(STAFF_PASSWORD))
    assert (await Browser(app).sign_in("jo@example.org")).status_code == 303
    assert "m=19456,t=2,p=1" in await stored(database_url, "staff")
