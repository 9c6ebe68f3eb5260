"""The sign-in throttle under parallel guesses through a real server with two worker processes:
N concurrent wrong passwords get exactly the verifications the policy allows, members and staff."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.admin.browser import add_staff
from tests.flows import csrf_of, live_portal

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
