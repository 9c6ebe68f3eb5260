"""A vendor's access rule (portal/access_rules.py), table-driven over rule and member — and its
three readers agreeing on every case: `decide` (the refusal page, the vendor page's preview, My
sites), `ALLOWS` (the SQL every issuing statement formats in) and `lets_in` (the preview's
count). A reader that decides for itself fails here."""

from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import access_rules
from portal.access_rules import MEMBER_TYPE, NOT_IN_GOOD_STANDING, STATUS, Rule
from portal.errors import InvalidField
from portal.good_standing import Terms
from portal.models import Member, Vendor
from tests.flows import add_member, add_vendor

TERMS = Terms(date(2026, 6, 30), 0)
PAID, LAPSED = date(2027, 6, 30), date(2026, 6, 29)

# name → (status, paid through, member type)
MEMBERS: dict[str, tuple[str, date | None, str | None]] = {
    "current regular": ("A", PAID, "REG"),
    "current student": ("A", PAID, "STU"),
    "lapsed regular": ("A", LAPSED, "REG"),
    "no paid-through student": ("A", None, "STU"),
    "inactive student": ("I", PAID, "STU"),
    "no type": ("A", PAID, None),
}
GOOD = Rule(good_standing=True)
STUDENTS = Rule(member_types=("STU",))
CURRENT_STUDENTS = Rule(good_standing=True, member_types=("STU",))
ACTIVE = Rule(statuses=("A",))
# rule → {member: why not (None: let in)}
CASES: dict[str, tuple[Rule, dict[str, str | None]]] = {
    "everyone": (Rule(), dict.fromkeys(MEMBERS)),
    "good standing": (
        GOOD,
        {
            "current regular": None,
            "current student": None,
            "lapsed regular": NOT_IN_GOOD_STANDING,
            "no paid-through student": NOT_IN_GOOD_STANDING,
            "inactive student": NOT_IN_GOOD_STANDING,
            "no type": None,
        },
    ),
    "students": (
        STUDENTS,
        {
            "current regular": MEMBER_TYPE,
            "current student": None,
            "lapsed regular": MEMBER_TYPE,
            "no paid-through student": None,
            "inactive student": None,
            "no type": MEMBER_TYPE,
        },
    ),
    "current students": (
        CURRENT_STUDENTS,
        {
            "current regular": MEMBER_TYPE,
            "current student": None,
            "lapsed regular": NOT_IN_GOOD_STANDING,
            "no paid-through student": NOT_IN_GOOD_STANDING,
            "inactive student": NOT_IN_GOOD_STANDING,
            "no type": MEMBER_TYPE,
        },
    ),
    "status A": (
        ACTIVE,
        {
            "current regular": None,
            "current student": None,
            "lapsed regular": None,
            "no paid-through student": None,
            "inactive student": STATUS,
            "no type": None,
        },
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_every_reader_of_a_rule_agrees(
    case: str, database_url: str, session: AsyncSession
) -> None:
    rule, expected = CASES[case]
    for number, (name, (status, paid_through, member_type)) in enumerate(MEMBERS.items()):
        await add_member(
            database_url,
            imis_id=str(800 + number),
            username=name.replace(" ", "-"),
            email=None,
            member_status=status,
            paid_through=paid_through,
            member_type=member_type,
        )
    await add_vendor(database_url, "ruled")
    vendor = (await session.exec(select(Vendor).where(col(Vendor.key) == "ruled"))).one()
    access_rules.apply(vendor, rule)
    session.add(vendor)
    await session.commit()

    decided = {
        name: access_rules.decide(rule, await _member(session, name), TERMS).why_not
        for name in MEMBERS
    }
    assert decided == expected
    allows = access_rules.allows_sql(vendor="v", member="m", paid_through_from=":paid_from")
    let_in_by_sql = set(
        (
            await session.execute(
                text(
                    f"SELECT m.username FROM member m, vendor v WHERE v.key = 'ruled' AND {allows}"
                ).bindparams(paid_from=TERMS.earliest_paid_through)
            )
        ).scalars()
    )
    let_in_by_count = set(
        await session.exec(select(Member.username).where(access_rules.lets_in(rule, TERMS)))
    )
    let_in = {name.replace(" ", "-") for name, why in expected.items() if why is None}
    assert let_in_by_sql == let_in
    assert let_in_by_count == let_in


async def _member(session: AsyncSession, name: str) -> Member:
    query = select(Member).where(col(Member.username) == name.replace(" ", "-"))
    return (await session.exec(query)).one()


def test_a_rule_in_staff_words() -> None:
    assert Rule().in_words() == "Everyone who signs in"
    assert GOOD.in_words() == "Members in good standing"
    assert (
        Rule(True, ("STU", "REG"), ("A",)).in_words()
        == "Members in good standing whose member type is STU or REG and whose status is A"
    )


def test_a_refusal_in_the_members_words() -> None:
    lapsed = Member(member_status="A", paid_through=date(2026, 6, 29), member_type="REG")
    decision = access_rules.decide(GOOD, lapsed, TERMS)
    assert decision.for_member("CareerHub Jobs") == (
        "CareerHub Jobs is for members whose membership is current; yours lapsed on 29 June 2026."
    )
    assert decision.for_staff() == "Refused: not in good standing (paid through 29 June 2026)"
    decision = access_rules.decide(STUDENTS, lapsed, TERMS)
    assert decision.for_member("Campus") == "Campus is for STU members; yours is REG."


def test_chosen_values_are_checked() -> None:
    rule = access_rules.checked(False, [" STU ", "", "STU", "REG"], [])
    assert rule == Rule(False, ("STU", "REG"), ())
    with pytest.raises(InvalidField):
        access_rules.checked(False, ["x" * 65], [])
    with pytest.raises(InvalidField):
        access_rules.checked(False, [], [str(n) for n in range(51)])
