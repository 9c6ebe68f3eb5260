"""The password links of the core, on real Postgres: made at the same moment for one account,
exactly one stays live; the database refuses a second live link even to code that forgets to void
the first; only a digest of the token is stored."""

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from portal import members
from portal.auth import reset_links
from portal.crypto import digest
from portal.models import AccountLink, Member
from tests.conftest import FakeClock
from tests.flows import add_member, unit_of_work


async def ada(db) -> Member:  # type: ignore[no-untyped-def]
    found = await members.find_member(db, "ada")
    assert found is not None
    return found


async def live_links(database_url: str) -> list[AccountLink]:
    async with unit_of_work(database_url) as db:
        query = select(AccountLink).where(
            col(AccountLink.used_at).is_(None), col(AccountLink.voided_at).is_(None)
        )
        return list((await db.exec(query)).all())


async def test_links_made_at_once_leave_exactly_one_live(
    database_url: str, clock: FakeClock
) -> None:
    await add_member(database_url)

    async def make() -> str:
        async with unit_of_work(database_url) as db:
            return await reset_links.issue(db, await ada(db), "reset", now=clock())

    tokens = await asyncio.gather(*(make() for _ in range(8)))
    [live] = await live_links(database_url)
    assert live.token_hash in {digest(token) for token in tokens}
    assert all(len(token) >= 43 for token in tokens)  # 32 random bytes, base64url
    async with unit_of_work(database_url) as db:
        stored = (await db.exec(select(AccountLink.token_hash))).all()
    assert not set(tokens) & set(stored), "only digests are stored"


async def test_the_database_holds_one_live_link_per_account(
    database_url: str, clock: FakeClock
) -> None:
    await add_member(database_url)
    async with unit_of_work(database_url) as db:
        await reset_links.issue(db, await ada(db), "reset", now=clock())

    async def second_live_link() -> None:
        async with unit_of_work(database_url) as db:
            member = await ada(db)
            db.add(
                AccountLink(
                    token_hash="f" * 64, purpose="reset", member_id=member.id,
                    password_digest="0" * 64, created_at=clock(),
                    expires_at=clock() + reset_links.RESET_TTL,
                )
            )  # fmt: skip
            await db.flush()

    with pytest.raises(IntegrityError):
        await second_live_link()


async def test_parallel_uses_in_the_core_give_the_link_once(
    database_url: str, clock: FakeClock
) -> None:
    await add_member(database_url)
    async with unit_of_work(database_url) as db:
        token = await reset_links.issue(db, await ada(db), "reset", now=clock())

    async def use(n: int) -> bool:
        async with unit_of_work(database_url) as db:
            return await reset_links.use(db, token, f"hash-{n}", now=clock()) is not None

    assert sorted(await asyncio.gather(*(use(n) for n in range(10)))) == [False] * 9 + [True]


async def test_a_disabled_accounts_link_is_found_as_such_and_sets_no_password(
    database_url: str, clock: FakeClock
) -> None:
    await add_member(database_url)
    async with unit_of_work(database_url) as db:
        member = await ada(db)
        raw = await reset_links.issue(db, member, "reset", now=clock())
        member.enabled = False  # as no disabling does: that voids the link (portal/disabling.py)
        db.add(member)
    async with unit_of_work(database_url) as db:
        found = await reset_links.find(db, raw, now=clock())
        assert found is not None and found.account_enabled is False
        assert await reset_links.use(db, raw, "new hash", now=clock()) is None
        assert (await ada(db)).password_hash != "new hash"
