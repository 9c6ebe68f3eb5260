"""One meaning of "member in good standing" (portal/good_standing.py), table-driven over status,
paid-through, grace, missing values — and every reader of it agreeing on each case: the
dashboard's badge and status filter (in SQL), the Enhanced member object's IsMember, the
is_member claim and SAML's eduPersonAffiliation. A reader that decides for itself fails here."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import catalogue, claims, good_standing, member_status
from portal.auth import throttle
from portal.good_standing import CURRENT, IN_GRACE, INACTIVE, LAPSED, NO_PAID_THROUGH, Terms
from portal.models import Member
from portal.saml import attributes, names
from portal.settings import Settings
from tests.flows import add_member

TODAY = date(2026, 6, 30)
YESTERDAY, LAST_WEEK, LONG_AGO = date(2026, 6, 29), date(2026, 6, 23), date(2025, 12, 31)

# (status, paid through, grace days) → (in good standing, why)
CASES: dict[str, tuple[str, date | None, int, bool, str]] = {
    "paid ahead": ("A", date(2027, 6, 30), 0, True, CURRENT),
    "paid through today": ("A", TODAY, 0, True, CURRENT),
    "lapsed yesterday, no grace": ("A", YESTERDAY, 0, False, LAPSED),
    "lapsed yesterday, in grace": ("A", YESTERDAY, 7, True, IN_GRACE),
    "grace ends today": ("A", LAST_WEEK, 7, True, IN_GRACE),
    "grace ended yesterday": ("A", LAST_WEEK, 6, False, LAPSED),
    "long lapsed, long grace": ("A", LONG_AGO, 90, False, LAPSED),
    "no paid-through date": ("A", None, 0, False, NO_PAID_THROUGH),
    "no paid-through date, grace": ("A", None, 30, False, NO_PAID_THROUGH),
    "inactive, paid ahead": ("I", date(2027, 6, 30), 0, False, INACTIVE),
    "suspended, in grace": ("S", YESTERDAY, 7, False, INACTIVE),
    "lower-case a is not A": ("a", date(2027, 6, 30), 0, False, INACTIVE),
}


@pytest.mark.parametrize("case", CASES)
def test_good_standing(case: str) -> None:
    status, paid_through, grace, good, why = CASES[case]
    standing = good_standing.of(status, paid_through, Terms(TODAY, grace))
    assert (standing.good, standing.why) == (good, why)


def test_a_grace_period_ends_on_its_last_day() -> None:
    standing = good_standing.of("A", LAST_WEEK, Terms(TODAY, 7))
    assert standing.good_until == TODAY


async def test_every_reader_agrees_on_every_case(database_url: str, session: AsyncSession) -> None:
    for number, (status, paid_through, *_) in enumerate(CASES.values()):
        await add_member(
            database_url,
            imis_id=str(900 + number),
            username=f"case{number}",
            email=None,
            member_status=status,
            paid_through=paid_through,
        )
    for number, (_, _, grace, good, _) in enumerate(CASES.values()):
        terms = Terms(TODAY, grace)
        member = (
            await session.exec(select(Member).where(col(Member.username) == f"case{number}"))
        ).one()
        policy = throttle.Policy.from_settings(Settings())
        found_by = {
            name: (
                await session.exec(
                    select(Member.username).where(
                        member_status.condition(
                            name, terms=terms, policy=policy, now=datetime.now(UTC)
                        ),
                        col(Member.username) == member.username,
                    )
                )
            ).first()
            is not None
            for name in ("current", "lapsed")
        }
        badge = member_status.badges(member, terms=terms, lock=None)[-1].text
        readers = {
            "filter current": found_by["current"],
            "filter not current": not found_by["lapsed"],
            "badge": badge.startswith("Current"),
            "IsMember": catalogue.member_object(member, [("IsMember", "m")], terms, sid="s")["m"],
            "is_member claim": claims.member_claims(member, ["IsMember"], claims.SCOPES, terms)[
                "is_member"
            ],
            "SAML affiliation": attributes.of_member(
                member, [("IsMember", "IsMember")], terms, name_format=names.ATTRNAME_URI
            )[-1].values
            == ("member",),
        }
        assert readers == dict.fromkeys(readers, good), list(CASES)[number]
