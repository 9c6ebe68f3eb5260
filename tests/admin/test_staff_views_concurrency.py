""" "At least one enabled admin" under a race: two admins disabling (or demoting) each other at the
same moment, through a real server with two worker processes."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.admin.browser import STAFF_PASSWORD, add_staff
from tests.flows import csrf_of, live_portal, unit_of_work

ROUNDS = 8


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, workers=2) as url:
        yield url


async def signed_in(url: str, email: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=url, timeout=30, follow_redirects=True)
    form = {"csrf_token": csrf_of((await client.get("/admin/sign-in")).text)}
    landing = await client.post(
        "/admin/sign-in", data={**form, "email": email, "password": STAFF_PASSWORD}
    )
    assert landing.url.path == "/admin/"
    return client, csrf_of(landing.text)


async def enabled_admins(database_url: str) -> int:
    async with unit_of_work(database_url) as s:
        query = "SELECT count(*) FROM staff WHERE role = 'admin' AND enabled"
        return int((await s.execute(text(query))).scalar_one())


@pytest.mark.parametrize(("action", "form"), [("disable", {}), ("role", {"role": "viewer"})])
async def test_two_admins_cannot_remove_each_other_at_once(
    two_workers: str, database_url: str, action: str, form: dict[str, str]
) -> None:
    ids = {email: await add_staff(database_url, email, "admin") for email in ("a@x.org", "b@x.org")}
    for _ in range(ROUNDS):
        a, a_csrf = await signed_in(two_workers, "a@x.org")
        b, b_csrf = await signed_in(two_workers, "b@x.org")
        a_form, b_form = {**form, "csrf_token": a_csrf}, {**form, "csrf_token": b_csrf}
        try:
            await asyncio.gather(
                a.post(f"/admin/staff/{ids['b@x.org']}/{action}", data=a_form),
                b.post(f"/admin/staff/{ids['a@x.org']}/{action}", data=b_form),
            )
        finally:
            await a.aclose()
            await b.aclose()
        assert await enabled_admins(database_url) == 1
        async with unit_of_work(database_url) as s:
            await s.execute(text("UPDATE staff SET role = 'admin', enabled = true"))
