import time
import traceback
from typing import Any

import httpx
import pytest

from portal.directory.imis import (
    DEFAULT_FIELD_MAP,
    ImisConfig,
    ImisUnavailable,
    WrongCredentials,
    check,
    sign_in,
)
from tests.fake_imis import FakeImis, FakeUser, date_value, person_data
from tests.imis_samples import ADA_PASSWORD, SERVICE_PASSWORD, ada, service_account


def config_for(url: str, **changes: Any) -> ImisConfig:
    """Room enough for a fake iMIS's first answer on a loaded machine; the tests of a slow iMIS
    ask for TIGHT."""
    return ImisConfig(**{"url": url, "timeout_seconds": 5.0, "deadline_seconds": 10.0, **changes})


TIGHT = {"timeout_seconds": 0.5, "deadline_seconds": 2.0}  # well under FakeImis.slow_seconds


def with_service_account(url: str) -> ImisConfig:
    return config_for(url, username="svc-portal", password=SERVICE_PASSWORD)


async def test_full_profile(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    profile = await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    assert (profile.imis_id, profile.username) == ("101", "ada.lovelace")
    assert profile.fields == {
        "ImisId": "101",
        "Username": "ada.lovelace",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "FullName": "Ms. Ada Lovelace FRS",
        "InformalName": "Ada",
        "Prefix": "Ms.",
        "Suffix": None,
        "Designation": "FRS",
        "Email": "ada@example.org",
        "Company": "Analytical Engines Ltd",
        "Title": "Programmer",
        "Phone": "+44 20 7946 0000",
        "Address1": "12 St James's Square",
        "City": "London",
        "State": "LND",
        "PostalCode": "SW1Y 4JH",
        "Country": "GB",
        "MemberType": "REG",
        "MemberStatus": "A",
        "JoinDate": "2015-03-01",
        "PaidThrough": "2027-12-31",
    }
    assert fake_imis.token_forms == [
        {"grant_type": "password", "username": "ada.lovelace", "password": ADA_PASSWORD}
    ]


async def test_primary_email_phone_and_address_win_over_the_first(fake_imis: FakeImis) -> None:
    person = person_data(
        "101",
        {"FirstName": "Ada"},
        emails=[("old@example.net", False), ("ada@example.org", True), ("x@example.com", False)],
        phones=[("111", False), ("222", True)],
        addresses=[{"CityName": "Paris"}, {"CityName": "London", "IsPrimary": True}],
    )
    fake_imis.add(ada(person=person))
    profile = await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    assert profile.fields["Email"] == "ada@example.org"
    assert profile.fields["Phone"] == "222"
    assert profile.fields["City"] == "London"


async def test_missing_optional_data_is_none(fake_imis: FakeImis) -> None:
    person = person_data("101", {"FirstName": "Ada", "LastName": "Lovelace"})
    fake_imis.add(ada(person=person, cs_contact={"MemberType": "REG"}))
    profile = await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    present = {name: value for name, value in profile.fields.items() if value is not None}
    assert present == {
        "ImisId": "101",
        "Username": "ada.lovelace",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "MemberType": "REG",
    }


async def test_no_cs_contact_leaves_membership_fields_empty(fake_imis: FakeImis) -> None:
    fake_imis.add(ada(cs_contact=None))
    profile = await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    membership = ("MemberType", "MemberStatus", "JoinDate", "PaidThrough")
    assert [profile.fields[name] for name in membership] == [None] * 4
    assert profile.fields["FirstName"] == "Ada"


async def test_lapsed_membership_values_are_reported_as_they_are(fake_imis: FakeImis) -> None:
    lapsed = {"MemberType": "REG", "Status": "I", "PaidThrough": date_value("2020-06-30T00:00:00")}
    fake_imis.add(ada(cs_contact=lapsed))
    profile = await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    assert profile.fields["MemberStatus"] == "I"
    assert profile.fields["PaidThrough"] == "2020-06-30"
    assert "IsMember" not in profile.fields


async def test_custom_field_map_remaps_member_type(fake_imis: FakeImis) -> None:
    fake_imis.add(ada(cs_contact={"MemberType": "REG", "CustomerTypeCode": "FELLOW"}))
    field_map = {**DEFAULT_FIELD_MAP, "MemberType": "CsContact.CustomerTypeCode"}
    config = config_for(fake_imis.url, field_map=field_map)
    profile = await sign_in(config, "ada.lovelace", ADA_PASSWORD)
    assert profile.fields["MemberType"] == "FELLOW"


async def test_person_404_falls_back_to_party(fake_imis: FakeImis) -> None:
    fake_imis.add(ada(has_person=False))
    profile = await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    assert profile.fields["LastName"] == "Lovelace"


async def test_no_party_at_all_is_unavailable(fake_imis: FakeImis) -> None:
    fake_imis.add(ada(person=None))
    with pytest.raises(ImisUnavailable, match="no party for iMIS ID 101"):
        await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)


async def test_wrong_password(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    with pytest.raises(WrongCredentials):
        await sign_in(config_for(fake_imis.url), "ada.lovelace", "wrong")


async def test_unknown_user(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    with pytest.raises(WrongCredentials):
        await sign_in(config_for(fake_imis.url), "charles.babbage", ADA_PASSWORD)


async def test_username_case_follows_imis(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    profile = await sign_in(config_for(fake_imis.url), "ADA.Lovelace", ADA_PASSWORD)
    assert profile.username == "ada.lovelace"


async def test_ignored_username_filter_never_yields_someone_else(fake_imis: FakeImis) -> None:
    fake_imis.add(FakeUser("grace", "pw", "7", person_data("7", {"FirstName": "Grace"})))
    fake_imis.add(ada())
    fake_imis.ignores_user_filter = True
    profile = await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    assert (profile.imis_id, profile.fields["FirstName"]) == ("101", "Ada")


@pytest.mark.parametrize(
    ("mode", "on", "reason"),
    [
        ("error500", "/token", "POST /token: HTTP 500"),
        ("error500", "/api/Person", "GET /api/Person/101: HTTP 500"),
        ("error400", "/token", "POST /token: HTTP 400"),
        ("malformed", "/token", "POST /token: HTTP 200, not JSON"),
        ("malformed", "/api/User", "GET /api/User: HTTP 200, not JSON"),
        ("html", "/token", "POST /token: HTTP 200, not JSON"),
        ("html", "/api/CsContact", "GET /api/CsContact/101: HTTP 200, not JSON"),
        ("unexpected", "/token", "POST /token: no usable access_token"),
        ("unexpected", "/api/User", "GET /api/User: no user with the signed-in username"),
        ("redirect", "/token", "POST /token: HTTP 302"),
        ("slow", "/token", "POST /token: no answer within 0.5 s"),
        ("slow", "/api/CsContact", "GET /api/CsContact/101: no answer within 0.5 s"),
    ],
)
async def test_imis_failures_are_unavailable(
    fake_imis: FakeImis, mode: str, on: str, reason: str
) -> None:
    fake_imis.add(ada())
    fake_imis.fail(mode, on=on)
    config = config_for(fake_imis.url, **(TIGHT if mode == "slow" else {}))
    with pytest.raises(ImisUnavailable) as raised:
        await sign_in(config, "ada.lovelace", ADA_PASSWORD)
    assert str(raised.value) == reason
    assert_free_of_secrets(raised.value, ADA_PASSWORD, *fake_imis.issued_tokens)


async def test_slow_imis_is_not_waited_for(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    fake_imis.fail("slow", on="/token")
    started = time.monotonic()
    with pytest.raises(ImisUnavailable):
        await sign_in(config_for(fake_imis.url, **TIGHT), "ada.lovelace", ADA_PASSWORD)
    assert time.monotonic() - started < fake_imis.slow_seconds / 2


async def test_whole_sign_in_has_a_deadline(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    fake_imis.fail("slow", on="/api")
    fake_imis.slow_seconds = 0.4
    config = ImisConfig(url=fake_imis.url, timeout_seconds=1.0, deadline_seconds=0.6)
    with pytest.raises(ImisUnavailable, match=r"^sign-in took longer than 0\.6 s$"):
        await sign_in(config, "ada.lovelace", ADA_PASSWORD)


async def test_imis_down(imis_down_url: str) -> None:
    with pytest.raises(ImisUnavailable, match=r"^POST /token: ConnectError$") as raised:
        await sign_in(config_for(imis_down_url), "ada.lovelace", ADA_PASSWORD)
    assert_free_of_secrets(raised.value, ADA_PASSWORD)


async def test_member_token_refused_without_service_account(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    fake_imis.members_may_read_profiles = False
    with pytest.raises(ImisUnavailable, match=r"HTTP 403.*service account") as raised:
        await sign_in(config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    assert_free_of_secrets(raised.value, ADA_PASSWORD, *fake_imis.issued_tokens)


async def test_service_account_reads_the_profile(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    fake_imis.add(service_account())
    fake_imis.members_may_read_profiles = False
    profile = await sign_in(with_service_account(fake_imis.url), "ada.lovelace", ADA_PASSWORD)
    assert profile.fields["Email"] == "ada@example.org"
    assert fake_imis.readers == ["svc-portal"] * 3


async def test_wrong_password_never_signs_in_the_service_account(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    fake_imis.add(service_account())
    with pytest.raises(WrongCredentials):
        await sign_in(with_service_account(fake_imis.url), "ada.lovelace", "wrong")
    assert [form["username"] for form in fake_imis.token_forms] == ["ada.lovelace"]


async def test_refused_service_account_is_unavailable_not_wrong_password(
    fake_imis: FakeImis,
) -> None:
    fake_imis.add(ada())
    config = config_for(fake_imis.url, username="svc-portal", password=SERVICE_PASSWORD)
    with pytest.raises(ImisUnavailable, match="refused the service account") as raised:
        await sign_in(config, "ada.lovelace", ADA_PASSWORD)
    assert_free_of_secrets(raised.value, ADA_PASSWORD, SERVICE_PASSWORD, *fake_imis.issued_tokens)


async def test_caller_supplied_client_is_used_and_left_open(fake_imis: FakeImis) -> None:
    fake_imis.add(ada())
    async with httpx.AsyncClient() as client:
        profile = await sign_in(
            config_for(fake_imis.url), "ada.lovelace", ADA_PASSWORD, client=client
        )
        assert not client.is_closed
    assert profile.imis_id == "101"


def test_config_keeps_the_password_out_of_its_repr() -> None:
    config = ImisConfig(url="https://imis.example.org", username="svc", password="hunter2")
    assert "hunter2" not in repr(config)


def test_config_refuses_an_unusable_field_map() -> None:
    with pytest.raises(ValueError, match="unknown source 'Activity'"):
        ImisConfig(url="https://imis.example.org", field_map={"MemberType": "Activity.Code"})


def test_config_needs_both_service_account_parts() -> None:
    with pytest.raises(ValueError, match="both username and password"):
        ImisConfig(url="https://imis.example.org", username="svc")


async def test_check_without_service_account(fake_imis: FakeImis) -> None:
    lines = await check(config_for(fake_imis.url))
    assert lines[0].startswith(f"iMIS answers at {fake_imis.url}")
    assert "no service account" in lines[1]


async def test_check_with_service_account(fake_imis: FakeImis) -> None:
    fake_imis.add(service_account())
    lines = await check(with_service_account(fake_imis.url))
    assert lines[1] == "service account 'svc-portal' signed in (POST /token)"
    assert "iMIS ID 900" in lines[2]
    assert "FirstName, LastName" in lines[2]


async def test_check_fails_when_imis_is_down(imis_down_url: str) -> None:
    with pytest.raises(ImisUnavailable, match="ConnectError"):
        await check(config_for(imis_down_url))


async def test_check_fails_on_a_non_oauth_answer(fake_imis: FakeImis) -> None:
    fake_imis.fail("html")
    with pytest.raises(ImisUnavailable, match="not an OAuth answer"):
        await check(config_for(fake_imis.url))


async def test_check_fails_when_service_account_is_refused(fake_imis: FakeImis) -> None:
    with pytest.raises(ImisUnavailable, match="refused the service account") as raised:
        await check(with_service_account(fake_imis.url))
    assert_free_of_secrets(raised.value, SERVICE_PASSWORD)


def assert_free_of_secrets(error: BaseException, *secrets: str) -> None:
    shown = "".join(traceback.format_exception(error)) + repr(error)
    leaked = [secret for secret in secrets if secret in shown]
    assert not leaked, f"secret text in the error: {shown}"
