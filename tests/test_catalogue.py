from datetime import date
from types import SimpleNamespace

import pytest

from portal.catalogue import CATALOGUE, MEMBER_COLUMNS, is_member, member_object

TODAY = date(2026, 11, 27)


def member(**values: object) -> SimpleNamespace:
    return SimpleNamespace(**{column: None for column in MEMBER_COLUMNS.values()} | values)


@pytest.mark.parametrize(
    ("status", "paid_through", "expected"),
    [
        ("A", TODAY, True),
        ("A", date(2030, 1, 1), True),
        ("A", date(2026, 11, 26), False),
        ("A", None, False),
        ("I", date(2030, 1, 1), False),
        ("S", date(2030, 1, 1), False),
    ],
)
def test_is_member(status: str, paid_through: date | None, expected: bool) -> None:
    assert is_member(status, paid_through, TODAY) is expected


def test_every_catalogue_field_has_a_value_source() -> None:
    assert set(CATALOGUE) == set(MEMBER_COLUMNS) | {"IsMember"}


def test_the_member_object_keeps_order_names_and_nulls() -> None:
    ada = member(
        imis_id="101",
        first_name="Ada",
        last_name="Lovelace",
        member_status="A",
        join_date=date(2015, 3, 1),
        paid_through=date(2030, 12, 31),
    )
    selection = [
        ("JoinDate", "joined"),
        ("Company", "Company"),
        ("FullName", "name"),
        ("IsMember", "IsMember"),
        ("ImisId", "id"),
    ]
    result = member_object(ada, selection, TODAY)
    assert list(result) == ["joined", "Company", "name", "IsMember", "id"]
    assert result == {
        "joined": "2015-03-01",
        "Company": None,
        "name": "Ada Lovelace",
        "IsMember": True,
        "id": "101",
    }


def test_full_name_prefers_the_stored_one() -> None:
    stored = member(full_name="Dr. Ada King", first_name="Ada", last_name="Lovelace")
    assert member_object(stored, [("FullName", "FullName")], TODAY) == {"FullName": "Dr. Ada King"}
    nameless = member()
    assert member_object(nameless, [("FullName", "FullName")], TODAY) == {"FullName": None}
