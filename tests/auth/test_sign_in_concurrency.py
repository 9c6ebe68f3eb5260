"""The sign-in throttle under parallel guesses through a real server with two worker processes:
N concurrent wrong passwords get exactly the verifications the policy allows, members and staff."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.admin.browser import add_staff
from tests.flows import PASSWORD, csrf_of, live_portal

FREE_FAILURES = 5  # the default policy


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, workers=2) as url:
        yield url


async def guess_in_parallel(url: str, form_path: str, fields: dict[str, str], n: int) -> list[int]:
    """n concurrent wrong-password POSTs from one browser (one CSRF cookie and token)."""
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        csrf = csrf_of((await client.get(form_path)).text)
        form = {"csrf_token": csrf, "password": "not the password", **fields}
        answers = await asyncio.gather(*(client.post(form_path, data=form) for _ in range(n)))
    return [answer.status_code for answer in answers]


@pytest.mark.usefixtures("ada")
@pytest.mark.parametrize("n", [20, 60])
async def test_parallel_member_guesses_get_exactly_the_allowed_verifications(
    two_workers: str, n: int
) -> None:
    statuses = await guess_in_parallel(two_workers, "/sign-in", {"username": "ada"}, n)
    # five verified (and wrong), the rest refused without a verification
    assert sorted(statuses) == [401] * FREE_FAILURES + [429] * (n - FREE_FAILURES), Counter(
        statuses
    )


async def test_parallel_staff_guesses_get_exactly_the_allowed_verifications(
    two_workers: str, database_url: str
) -> None:
    await add_staff(database_url, "admin@example.org", "admin")
    statuses = await guess_in_parallel(
        two_workers, "/admin/sign-in", {"email": "admin@example.org"}, 30
    )
    assert sorted(statuses) == [401] * FREE_FAILURES + [429] * (30 - FREE_FAILURES)


async def sign_ins_at_once(url: str, n: int) -> list[int]:
    """n fresh browsers (each its own CSRF cookie) open the form, then all sign ada in at once
    with the right password."""
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(n)]
    try:
        forms = [
            {"csrf_token": csrf_of((await c.get("/sign-in")).text), "username": "ada"}
            for c in clients
        ]
        answers = await asyncio.gather(
            *(
                c.post("/sign-in", data={**f, "password": PASSWORD})
                for c, f in zip(clients, forms, strict=True)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    return [answer.status_code for answer in answers]


@pytest.mark.usefixtures("ada")
async def test_parallel_right_passwords_of_one_name_from_one_address_never_fail(
    two_workers: str,
) -> None:
    """A success gives back the network's reservation while other attempts of the same name
    reserve theirs: the rows are locked in one order, so no deadlock turns into a 500."""
    statuses: list[int] = []
    for _ in range(10):
        statuses += await sign_ins_at_once(two_workers, 6)
    assert set(statuses) <= {303, 429}, Counter(statuses)
    assert 303 in statuses
