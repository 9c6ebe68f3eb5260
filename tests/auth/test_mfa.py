"""Two-factor codes for staff: the ±1 step window, no code accepted twice (in parallel through a
live server too), recovery codes used once, and the throttle on code guesses. Codes are made
with pyotp from the secret, as a phone makes them."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest

from portal import staff
from portal.auth import mfa, throttle
from portal.models import Staff
from portal.settings import Settings
from tests.admin.browser import STAFF_PASSWORD, add_staff, enrol_staff
from tests.flows import csrf_of, live_portal, unit_of_work

NOW = datetime(2026, 11, 27, 12, 0, 10, tzinfo=UTC)
POLICY = throttle.Policy.from_settings(Settings(env="development"))  # 5 free, then 30 s doubling
EMAIL = "admin@example.org"


@pytest.fixture
async def secret(database_url: str) -> str:
    await add_staff(database_url, EMAIL, "admin")
    secret, _ = await enrol_staff(database_url, EMAIL, NOW - timedelta(minutes=10))
    return secret


async def attempt(database_url: str, code: str, now: datetime = NOW) -> mfa.Check:
    async with unit_of_work(database_url) as session:
        account = await staff.select_staff_by_email(session, EMAIL)
        assert account is not None
        return await mfa.check(session, account, code, now=now, policy=POLICY)


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def test_a_code_is_good_one_step_either_side_of_now_and_no_further() -> None:
    secret = pyotp.random_base32(32)
    step = mfa.time_step(NOW)
    for seconds, expected in [(0, step), (-30, step - 1), (30, step + 1), (-60, None), (60, None)]:
        code = code_at(secret, NOW + timedelta(seconds=seconds))
        assert mfa.matching_step(secret, code, NOW) == expected, seconds
    assert mfa.matching_step(secret, "12345", NOW) is None
    assert mfa.matching_step(secret, "abcdef", NOW) is None


async def test_a_code_is_accepted_once(database_url: str, secret: str) -> None:
    code = code_at(secret, NOW)
    assert (await attempt(database_url, code)).accepted
    assert not (await attempt(database_url, code)).accepted
    assert not (await attempt(database_url, code, NOW + timedelta(seconds=20))).accepted


async def test_after_a_later_step_an_earlier_code_is_refused(
    database_url: str, secret: str
) -> None:
    """The phone a step ahead, then the code of the step before: still refused, though in the
    window, because it is not later than the last accepted one."""
    assert (await attempt(database_url, code_at(secret, NOW + timedelta(seconds=30)))).accepted
    assert not (await attempt(database_url, code_at(secret, NOW))).accepted
    later = NOW + timedelta(seconds=30)
    assert (
        await attempt(database_url, code_at(secret, later + timedelta(seconds=30)), later)
    ).accepted


async def test_spaces_in_a_code_are_ignored(database_url: str, secret: str) -> None:
    code = code_at(secret, NOW)
    assert (await attempt(database_url, f" {code[:3]} {code[3:]} ")).accepted


async def test_a_recovery_code_works_once_in_any_case_with_or_without_dashes(
    database_url: str,
) -> None:
    await add_staff(database_url, EMAIL, "admin")
    _, codes = await enrol_staff(database_url, EMAIL, NOW)
    assert len(codes) == 10 and len(set(codes)) == 10
    first = await attempt(database_url, codes[0].upper().replace("-", ""))
    assert first.accepted and first.used_recovery_code and first.recovery_codes_left == 9
    assert not (await attempt(database_url, codes[0])).accepted
    assert (await attempt(database_url, codes[1])).accepted


async def test_another_staff_members_recovery_code_is_refused(database_url: str) -> None:
    """A recovery code opens only its own account: one staff member's code is no second factor
    for anyone else, and stays unspent for its owner."""
    await add_staff(database_url, EMAIL, "admin")
    await add_staff(database_url, "viewer@example.org", "viewer")
    await enrol_staff(database_url, EMAIL, NOW)
    _, theirs = await enrol_staff(database_url, "viewer@example.org", NOW)
    refused = await attempt(database_url, theirs[0])
    assert not refused.accepted and not refused.used_recovery_code
    async with unit_of_work(database_url) as session:
        viewer = await staff.select_staff_by_email(session, "viewer@example.org")
        assert viewer is not None and viewer.id is not None
        assert await mfa.count_recovery_codes(session, viewer.id) == 10


async def test_recovery_codes_are_stored_only_as_digests(database_url: str) -> None:
    await add_staff(database_url, EMAIL, "admin")
    _, codes = await enrol_staff(database_url, EMAIL, NOW)
    async with unit_of_work(database_url) as session:
        stored = (await session.connection()).exec_driver_sql(
            "SELECT string_agg(code_hash, ' ') FROM staff_recovery_code"
        )
        text = (await stored).scalar_one()
    assert all(code.replace("-", "") not in text and code not in text for code in codes)


async def test_new_recovery_codes_void_the_old_ones(database_url: str) -> None:
    await add_staff(database_url, EMAIL, "admin")
    _, old = await enrol_staff(database_url, EMAIL, NOW)
    async with unit_of_work(database_url) as session:
        account = await staff.select_staff_by_email(session, EMAIL)
        assert account is not None and account.id is not None
        new = await mfa.replace_recovery_codes(session, account.id)
    assert not (await attempt(database_url, old[2])).accepted
    assert (await attempt(database_url, new[0])).accepted


async def test_wrong_codes_are_throttled_like_passwords_and_staff_can_unlock(
    database_url: str, secret: str
) -> None:
    """Five free guesses, then a wait that even the right code does not skip."""
    results = [await attempt(database_url, "000000") for _ in range(6)]
    assert [r.verdict.allowed for r in results] == [True] * 5 + [False]
    refused = await attempt(database_url, code_at(secret, NOW))
    assert not refused.accepted and not refused.verdict.allowed and refused.verdict.retry_after
    async with unit_of_work(database_url) as session:
        account = await staff.select_staff_by_email(session, EMAIL)
        assert account is not None
        await staff.unlock(session, account)
    assert (await attempt(database_url, code_at(secret, NOW))).accepted


async def test_the_throttle_is_the_accounts_whatever_the_address(
    database_url: str, secret: str
) -> None:
    """The code's throttle key names the staff account, not a network: guesses from many
    addresses add up."""
    for _ in range(5):
        await attempt(database_url, "000000")
    async with unit_of_work(database_url) as session:
        account = await staff.select_staff_by_email(session, EMAIL)
        assert account is not None and account.id is not None
        states = await throttle.account_states(
            session, {account.id: staff.throttle_keys(account)}, now=NOW, policy=POLICY
        )
    assert states == {account.id: throttle.DELAYED}


async def test_an_unconfirmed_secret_is_not_asked_for_and_opens_nothing(
    database_url: str,
) -> None:
    await add_staff(database_url, EMAIL, "admin")
    async with unit_of_work(database_url) as session:
        account = await staff.select_staff_by_email(session, EMAIL)
        assert account is not None
        enrolment = await mfa.begin_enrolment(session, account, issuer="Example")
        assert enrolment is not None and not mfa.is_enrolled(account)
        assert "<svg" in enrolment.qr_svg and enrolment.uri.startswith("otpauth://totp/")
    assert not (await attempt(database_url, code_at(enrolment.secret, NOW))).accepted


async def test_a_reset_turns_it_off_and_voids_the_recovery_codes(
    database_url: str, secret: str
) -> None:
    async with unit_of_work(database_url) as session:
        account = await staff.select_staff_by_email(session, EMAIL)
        assert account is not None
        assert await mfa.reset(session, account, now=NOW)
        assert await mfa.count_recovery_codes(session, account.id or 0) == 0
    async with unit_of_work(database_url) as session:
        account = await session.get(Staff, account.id)
        assert account is not None and account.totp_secret is None
        assert not mfa.is_enrolled(account)


# Through a live server with two worker processes, on the real clock: enrolled ten minutes
# ago (see the fixture), so the code of now is later than the last one accepted.


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, workers=2) as url:
        yield url


async def browsers_awaiting_their_code(url: str, n: int) -> list[tuple[httpx.AsyncClient, str]]:
    """n browsers that each gave the right password; each with the code page's CSRF token."""
    ready = []
    for _ in range(n):
        client = httpx.AsyncClient(base_url=url, timeout=60)
        csrf = csrf_of((await client.get("/admin/sign-in")).text)
        form = {"csrf_token": csrf, "email": EMAIL, "password": STAFF_PASSWORD}
        answer = await client.post("/admin/sign-in", data=form)
        assert answer.status_code == 303
        assert answer.headers["Location"].startswith("/admin/sign-in/code?")
        ready.append((client, csrf_of((await client.get(answer.headers["Location"])).text)))
    return ready


async def send_at_once(ready: list[tuple[httpx.AsyncClient, str]], code: str) -> list[int]:
    try:
        answers = await asyncio.gather(
            *(
                client.post("/admin/sign-in/code", data={"csrf_token": csrf, "code": code})
                for client, csrf in ready
            )
        )
        return [answer.status_code for answer in answers]
    finally:
        for client, _ in ready:
            await client.aclose()


async def test_one_code_sent_by_two_browsers_at_once_lets_exactly_one_in(
    two_workers: str, database_url: str
) -> None:
    await add_staff(database_url, EMAIL, "admin")
    secret, _ = await enrol_staff(database_url, EMAIL, datetime.now(UTC) - timedelta(minutes=10))
    ready = await browsers_awaiting_their_code(two_workers, 2)
    statuses = await send_at_once(ready, pyotp.TOTP(secret).now())
    assert sorted(statuses) == [303, 401]


async def test_one_recovery_code_sent_by_many_browsers_at_once_lets_exactly_one_in(
    two_workers: str, database_url: str
) -> None:
    await add_staff(database_url, EMAIL, "admin")
    _, codes = await enrol_staff(database_url, EMAIL, datetime.now(UTC) - timedelta(minutes=10))
    ready = await browsers_awaiting_their_code(two_workers, 4)
    statuses = await send_at_once(ready, codes[0])
    assert sorted(statuses) == [303, 401, 401, 401]
    async with unit_of_work(database_url) as session:
        account = await staff.select_staff_by_email(session, EMAIL)
        assert account is not None
        assert await mfa.count_recovery_codes(session, account.id or 0) == 9


async def test_a_code_and_recovery_codes_sent_at_once_by_one_browser_make_one_session(
    two_workers: str, database_url: str
) -> None:
    """All are good, but one password step opens at most one session."""
    await add_staff(database_url, EMAIL, "admin")
    secret, codes = await enrol_staff(
        database_url, EMAIL, datetime.now(UTC) - timedelta(minutes=10)
    )
    [(client, csrf)] = await browsers_awaiting_their_code(two_workers, 1)
    try:
        answers = await asyncio.gather(
            *(
                client.post("/admin/sign-in/code", data={"csrf_token": csrf, "code": code})
                for code in (pyotp.TOTP(secret).now(), *codes[:5])
            )
        )
    finally:
        await client.aclose()
    assert sorted(answer.status_code for answer in answers) == [303] + [401] * 5
    async with unit_of_work(database_url) as session:
        opened = (await session.connection()).exec_driver_sql(
            "SELECT count(*) FROM auth_session WHERE NOT awaiting_second_factor"
        )
        assert (await opened).scalar_one() == 1
