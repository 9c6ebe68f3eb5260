from typing import Any

import pytest

from portal.directory.imis_fields import (
    DEFAULT_FIELD_MAP,
    MAPPABLE_FIELDS,
    check_field_map,
    property_values,
    resolve_fields,
)
from tests.fake_imis import date_value, person_data


def resolve(person: Any = None, cs_contact: Any = None) -> dict[str, str | None]:
    return resolve_fields(DEFAULT_FIELD_MAP, {"Person": person, "CsContact": cs_contact or {}})


def test_every_mappable_field_is_answered_even_from_nothing() -> None:
    assert resolve() == dict.fromkeys(MAPPABLE_FIELDS)


def test_first_item_when_none_is_marked_primary() -> None:
    person = person_data("1", {}, emails=[("only@example.org", False), ("b@example.org", False)])
    assert resolve(person)["Email"] == "only@example.org"


def test_typed_plain_and_blank_values() -> None:
    fields = resolve(
        person_data("1", {"FirstName": "  ", "LastName": " Lovelace "}),
        {
            "MemberType": {"$type": "System.String", "$value": "STU"},
            "Status": {"$type": "System.Int32", "$value": 5},
            "PaidThrough": "2027-12-31T00:00:00",
            "JoinDate": "not a date",
        },
    )
    assert (fields["FirstName"], fields["LastName"]) == (None, "Lovelace")
    assert (fields["MemberType"], fields["MemberStatus"]) == ("STU", "5")
    assert (fields["PaidThrough"], fields["JoinDate"]) == ("2027-12-31", None)


def test_dates_keep_the_calendar_day_given() -> None:
    fields = resolve(cs_contact={"PaidThrough": date_value("2027-12-31T23:30:00-05:00")})
    assert fields["PaidThrough"] == "2027-12-31"


def test_alternative_path_used_when_the_first_has_no_value() -> None:
    person = person_data(
        "1", {}, addresses=[{"CountrySubEntityName": "Ontario", "CountryCode": ""}]
    )
    person["Addresses"]["$values"][0]["Address"]["CountryName"] = "Canada"
    fields = resolve(person)
    assert (fields["State"], fields["Country"]) == ("Ontario", "Canada")


def test_shapes_unlike_the_documented_ones_give_none() -> None:
    odd_person = {"PersonName": "Ada", "Emails": {"$values": "ada@example.org"}, "Phones": [7]}
    fields = resolve(odd_person)
    assert (fields["FirstName"], fields["Email"], fields["Phone"]) == (None, None, None)


def test_property_values_skip_malformed_items() -> None:
    entity = {"Properties": {"$values": [{"Name": "MemberType", "Value": "REG"}, {"Value": 1}, 3]}}
    assert property_values(entity) == {"MemberType": "REG"}
    assert property_values(None) == {}


@pytest.mark.parametrize(
    ("field_map", "reason"),
    [
        ({"IsMember": "CsContact.Status"}, "not a mappable catalogue field"),
        ({"ImisId": "CsContact.Id"}, "not a mappable catalogue field"),
        ({"MemberType": "CsContact.MemberType|Activity.Code"}, "unknown source 'Activity'"),
    ],
)
def test_unusable_field_map_is_refused(field_map: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_field_map(field_map)
