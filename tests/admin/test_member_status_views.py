"""Membership status on the member list (a column and a filter) and on the member page."""

import re
from datetime import UTC, date, datetime

from quart import Quart
from sqlmodel import select

from portal.auth.models import SignInThrottle
from portal.models import Member
from tests.admin.browser import Browser, text
from tests.flows import add_member, sign_in, unit_of_work

# username → the badges the list shows for them (on the test clock's day, in 2026 or later)
EXPECTED = {
    "ada": ["Current"],
    "lapsed": ["Lapsed since 1 Jan 2025"],
    "nopass": ["No password", "Current"],
    "locked": ["Locked", "Current"],
    "slow": ["Throttled", "Current"],
    "off": ["Disabled", "Lapsed since 1 Jul 2023"],
    "nodate": ["No paid-through date"],  # not current: nothing says the membership was paid
    "inactive": ["Inactive (status I)"],
}
FILTERED = {
    "current": {"ada", "nopass", "locked", "slow"},
    "lapsed": {"lapsed", "off", "nodate", "inactive"},
    "no-password": {"nopass"},
    "locked": {"locked"},
    "throttled": {"slow"},
    "disabled": {"off"},
}


async def add_members(app: Quart, database_url: str) -> None:
    await add_member(database_url)
    await add_member(database_url, imis_id="102", username="lapsed", email="l@example.org",
                     paid_through=date(2024, 12, 31))  # fmt: skip
    await add_member(database_url, imis_id="103", username="nopass", email=None)
    await add_member(database_url, imis_id="104", username="locked", email="LOCK@example.org")
    await add_member(database_url, imis_id="108", username="slow", email="slow@example.org")
    await add_member(database_url, imis_id="105", username="off", email=None,
                     paid_through=date(2023, 6, 30))  # fmt: skip
    await add_member(database_url, imis_id="106", username="nodate", email="n@example.org",
                     paid_through=None)  # fmt: skip
    await add_member(database_url, imis_id="107", username="inactive", email="i@example.org",
                     member_status="I")  # fmt: skip
    async with unit_of_work(database_url) as s:
        found = {m.username: m for m in await s.exec(select(Member))}
        found["nopass"].password_hash = None
        found["off"].enabled = False
        s.add_all([found["nopass"], found["off"]])
        # Locked by the email it signs in with: the filter must find it through either name.
        s.add(SignInThrottle(scope="account", subject="member:lock@example.org",
                             consecutive_failures=1000))  # fmt: skip
        # Held back now by a growing delay (not locked): it ends by itself.
        s.add(SignInThrottle(scope="account", subject="member:slow", consecutive_failures=6,
                             blocked_until=datetime(2100, 1, 1, tzinfo=UTC)))  # fmt: skip
    refused = await sign_in(app.test_client(), login="lock@example.org")
    assert refused.status_code == 429  # the real throttle agrees that this name is locked


def statuses(body: str) -> dict[str, list[str]]:
    row = r'<td class="mono">([a-z]+)</td>.*?data-testid="member-status">(.*?)</span></td>'
    rows = re.findall(row, body, re.S)
    return {user: re.findall(r'class="badge[^"]*">([^<]+)<', cell) for user, cell in rows}


async def test_the_list_shows_each_members_status_in_words(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_members(app, database_url)
    assert statuses(await text(await admin.get("/admin/members"))) == EXPECTED


async def test_each_status_filter_finds_exactly_the_members_with_that_badge(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_members(app, database_url)
    for status, wanted in FILTERED.items():
        for htmx in (False, True):
            response = await admin.get("/admin/members", htmx=htmx, status=status)
            assert response.status_code == 200
            shown = statuses(await text(response))
            assert set(shown) == wanted, status
            assert all(EXPECTED[user] == badges for user, badges in shown.items())
    both = statuses(await text(await admin.get("/admin/members", q="lapsed", status="lapsed")))
    assert set(both) == {"lapsed"}
    empty = await text(await admin.get("/admin/members", q="nopass", status="disabled"))
    assert "No member matches “nopass” with the status Disabled" in empty


async def test_an_unknown_status_filter_is_a_clear_400(admin: Browser) -> None:
    response = await admin.get("/admin/members", status="gold")
    assert response.status_code == 400
    assert (
        "status must be one of: current, lapsed, no-password, locked, throttled, disabled"
        in await text(response)
    )


async def test_pages_keep_the_status_filter(admin: Browser, database_url: str) -> None:
    for n in range(51):
        await add_member(database_url, imis_id=f"9{n}", username=f"m{n}", email=None,
                         paid_through=date(2020, 1, 1))  # fmt: skip
    body = await text(await admin.get("/admin/members", status="lapsed"))
    assert 'href="/admin/members?status=lapsed&amp;page=2"' in body


async def test_the_member_page_shows_the_badges_and_why(
    app: Quart, admin: Browser, database_url: str
) -> None:
    await add_members(app, database_url)
    async with unit_of_work(database_url) as s:
        off = (await s.exec(select(Member.id).where(Member.username == "off"))).one()
    body = await text(await admin.get(f"/admin/members/{off}"))
    assert ">Disabled<" in body and ">Lapsed since 1 Jul 2023<" in body
    assert "Paid through 30 Jun 2023." in body and ">Current<" not in body
    enabled = await text(await admin.post(f"/admin/members/{off}/enable", htmx=True))
    assert ">Disabled<" not in enabled and ">Lapsed since 1 Jul 2023<" in enabled
