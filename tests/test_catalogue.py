from datetime import date
from types import SimpleNamespace

from portal.catalogue import CATALOGUE, MEMBER_COLUMNS, member_object
from portal.good_standing import Terms

TODAY = Terms(date(2026, 11, 27))


def member(**values: object) -> SimpleNamespace:
    return SimpleNamespace(**{column: None for column in MEMBER_COLUMNS.values()} | values)


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
    result = member_object(ada, selection, TODAY, sid="s1")
    assert list(result) == ["joined", "Company", "name", "IsMember", "id", "sid"]
    assert result == {
        "joined": "2015-03-01",
        "Company": None,
        "name": "Ada Lovelace",
        "IsMember": True,
        "id": "101",
        "sid": "s1",
    }


def test_the_sid_is_last_and_a_field_saved_under_its_name_gives_way() -> None:
    """No output name can be `sid` any more (vendor_rules.check_fields); one saved before that is
    not sent under it: a logout token's sid must find the session it names."""
    ada = member(imis_id="101", email="ada@example.org")
    selection = [("ImisId", "sid"), ("Email", "Email")]
    assert member_object(ada, selection, TODAY, sid="s1") == {
        "Email": "ada@example.org",
        "sid": "s1",
    }


def test_full_name_prefers_the_stored_one() -> None:
    stored = member(full_name="Dr. Ada King", first_name="Ada", last_name="Lovelace")
    full_name = [("FullName", "FullName")]
    assert member_object(stored, full_name, TODAY, sid="s1")["FullName"] == "Dr. Ada King"
    assert member_object(member(), full_name, TODAY, sid="s1")["FullName"] is None
