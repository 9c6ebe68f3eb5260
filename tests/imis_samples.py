"""Sample iMIS people for tests, in the shapes the fake iMIS serves."""

from typing import Any

from tests.fake_imis import FakeUser, date_value, person_data

SERVICE_PASSWORD = "svc-secret-77"
ADA_PASSWORD = "Correct-Horse-42&ada=1"


def ada(**changes: Any) -> FakeUser:
    """Ada, a member with every field filled; changes replace FakeUser attributes."""
    person = person_data(
        "101",
        {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "FullName": "Ms. Ada Lovelace FRS",
            "InformalName": "Ada",
            "NamePrefix": "Ms.",
            "NameSuffix": "",
            "Designation": "FRS",
        },
        emails=[("ada@example.org", True)],
        organization={"Name": "Analytical Engines Ltd", "Title": "Programmer"},
        phones=[("+44 20 7946 0000", True)],
        addresses=[
            {
                "Lines": ["12 St James's Square", "Floor 2"],
                "CityName": "London",
                "CountrySubEntityCode": "LND",
                "CountrySubEntityName": "Greater London",
                "PostalCode": "SW1Y 4JH",
                "CountryCode": "GB",
                "CountryName": "United Kingdom",
            }
        ],
    )
    cs_contact = {
        "MemberType": "REG",
        "Status": "A",
        "JoinDate": date_value("2015-03-01T00:00:00"),
        "PaidThrough": date_value("2027-12-31T00:00:00"),
    }
    fields = {"person": person, "cs_contact": cs_contact} | changes
    return FakeUser(username="ada.lovelace", password=ADA_PASSWORD, imis_id="101", **fields)


def service_account() -> FakeUser:
    person = person_data("900", {"FirstName": "Portal", "LastName": "Service"})
    return FakeUser(
        username="svc-portal", password=SERVICE_PASSWORD, imis_id="900", person=person, staff=True
    )
