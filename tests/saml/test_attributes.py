"""eduPersonAffiliation beside IsMember: `member` for a member in good standing, `affiliate` for
anyone else — decided by the one rule the Enhanced member object's IsMember comes from
(catalogue.field_value) — by its urn:oid name or, with NameFormat basic, its friendly name."""

from datetime import date

import pytest

from portal import catalogue
from portal.good_standing import Terms
from portal.models import Member
from portal.saml import attributes, names

TODAY = Terms(date(2026, 12, 7))
OID = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"


def member(**values: object) -> Member:
    return Member(
        **{"username": "ada", "member_status": "A", "paid_through": date(2030, 12, 31), **values}
    )


@pytest.mark.parametrize(
    ("who", "affiliation"),
    [
        (member(), "member"),
        (member(paid_through=date(2026, 12, 6)), "affiliate"),  # lapsed yesterday
        (member(member_status="I"), "affiliate"),
        (member(paid_through=None), "affiliate"),
    ],
)
def test_the_affiliation_follows_is_member(who: Member, affiliation: str) -> None:
    found = attributes.of_member(
        who, [("IsMember", "IsMember")], TODAY, name_format=names.ATTRNAME_URI
    )
    is_member = catalogue.member_object(who, [("IsMember", "IsMember")], TODAY, sid="s")["IsMember"]
    assert [(a.name, a.values, a.friendly_name) for a in found] == [
        ("IsMember", ("true" if is_member else "false",), None),
        (OID, (affiliation,), "eduPersonAffiliation"),
    ]
    assert (affiliation == "member") is is_member


def test_basic_names_call_it_edu_person_affiliation_and_a_rename_keeps_it() -> None:
    found = attributes.of_member(
        member(), [("Email", "Email"), ("IsMember", "current")], TODAY,
        name_format=names.ATTRNAME_BASIC,
    )  # fmt: skip
    assert [(a.name, a.name_format, a.values) for a in found][-1] == (
        "eduPersonAffiliation",
        names.ATTRNAME_BASIC,
        ("member",),
    )


def test_without_is_member_there_is_no_affiliation() -> None:
    found = attributes.of_member(
        member(), [("Email", "Email")], TODAY, name_format=names.ATTRNAME_URI
    )
    assert OID not in [a.name for a in found]
