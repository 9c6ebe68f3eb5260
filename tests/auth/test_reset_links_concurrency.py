"""A password link used by many browsers at once, through a real server with two worker
processes: exactly one sets the password, every other is refused."""

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from portal import members
from portal.auth import reset_links
from tests.flows import PASSWORD, add_member, csrf_of, live_portal, unit_of_work


async def issue_link(database_url: str) -> str:
    async with unit_of_work(database_url) as db:
        ada = await members.find_member(db, "ada")
        assert ada is not None
        return await reset_links.issue(db, ada, "reset", now=datetime.now(UTC))


async def use_at_once(url: str, token: str, n: int) -> list[int]:
    """n browsers open the link's page, then all submit a new password at once."""
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(n)]
    path = f"/password/reset/{token}"
    try:
        forms = [
            {"csrf_token": csrf_of((await c.get(path)).text), "password": f"new passphrase {i}"}
            for i, c in enumerate(clients)
        ]
        answers = await asyncio.gather(
            *(
                c.post(path, data={**f, "confirm": f["password"]})
                for c, f in zip(clients, forms, strict=True)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    return [answer.status_code for answer in answers]


@pytest.mark.parametrize("n", [12])
async def test_parallel_uses_of_one_link_set_the_password_once(
    database_url: str, tmp_path: Path, n: int
) -> None:
    await add_member(database_url)
    token = await issue_link(database_url)
    with live_portal(database_url, tmp_path, workers=2) as url:
        statuses = await use_at_once(url, token, n)
        assert sorted(statuses) == [303] + [410] * (n - 1), Counter(statuses)
        async with httpx.AsyncClient(base_url=url) as client:
            page = await client.get("/sign-in")
            form = {"csrf_token": csrf_of(page.text), "username": "ada", "password": PASSWORD}
            assert (await client.post("/sign-in", data=form)).status_code == 401
