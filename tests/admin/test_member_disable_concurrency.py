"""Two admins disabling the same member at the same moment, through a real server with two worker
processes: the member is disabled once (one event, with what it withdrew) and keeps no session."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.admin.browser import add_staff
from tests.admin.test_staff_views_concurrency import signed_in
from tests.flows import PASSWORD, add_member, csrf_of, live_portal, unit_of_work

ROUNDS = 4


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, workers=2) as url:
        yield url


async def member_signs_in(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as member:
        form = {"csrf_token": csrf_of((await member.get("/sign-in")).text)}
        answer = await member.post(
            "/sign-in", data={**form, "username": "ada", "password": PASSWORD}
        )
        assert answer.status_code == 303


async def scalar(database_url: str, query: str) -> object:
    async with unit_of_work(database_url) as db:
        return (await db.execute(text(query))).scalar_one()


async def test_two_admins_disabling_one_member_at_once_disable_them_once(
    two_workers: str, database_url: str
) -> None:
    await add_member(database_url)
    for email in ("a@x.org", "b@x.org"):
        await add_staff(database_url, email, "admin")
    for round_ in range(1, ROUNDS + 1):
        await member_signs_in(two_workers)
        admins = [await signed_in(two_workers, email) for email in ("a@x.org", "b@x.org")]
        try:
            answers = await asyncio.gather(
                *(client.post("/admin/members/1/disable", data={"csrf_token": csrf})
                  for client, csrf in admins)
            )  # fmt: skip
        finally:
            for client, _ in admins:
                await client.aclose()
        assert [answer.status_code for answer in answers] == [200, 200]  # redirects followed
        events = "SELECT count(*) FROM audit_event WHERE event = 'member.disabled'"
        assert await scalar(database_url, events) == round_
        live = "SELECT count(*) FROM auth_session WHERE member_id = 1 AND ended_at IS NULL"
        assert await scalar(database_url, live) == 0
        async with unit_of_work(database_url) as db:
            await db.execute(text("UPDATE member SET enabled = true"))
