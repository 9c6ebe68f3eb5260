"""iMIS as the directory, end to end: the portal signs members in against a fake iMIS over a
real socket, mirrors them, and vendors receive their iMIS data."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from quart import Quart
from sqlalchemy import text

from portal import cli, create_app, vendor_rules, vendors
from portal.settings import Settings, SettingsError
from tests.admin.browser import Browser, add_staff
from tests.conftest import TEST_SECRET_KEY, FakeClock, running_app
from tests.fake_imis import FakeImis, date_value, person_data
from tests.flows import (
    VendorLogin,
    add_member,
    add_vendor,
    open_sids,
    redeem,
    sign_in,
    token_for,
    unit_of_work,
)
from tests.imis_samples import ADA_PASSWORD, ada

FIELDS = "ImisId,FirstName,LastName,Email,MemberType,Company,PaidThrough,IsMember"
SSO = {"vendor": "acme"}


def imis_settings(settings: Settings, url: str) -> Settings:
    return settings.model_copy(
        update={
            "directory": "imis",
            "imis_url": url,
            # Short enough that the fake's "slow" mode (3 s) is an outage, long enough that a
            # busy machine (every worker starting servers) does not make a healthy call one.
            "imis_timeout_seconds": 2.0,
            "imis_deadline_seconds": 2.8,
        }
    )


@pytest.fixture
async def acme(database_url: str) -> VendorLogin:
    login = await add_vendor(database_url)
    async with unit_of_work(database_url) as session:
        vendor = await vendors.get_vendor(session, "acme")
        await vendors.replace_fields(session, vendor, vendor_rules.parse_field_spec(FIELDS))
    return login


@pytest.fixture
async def imis_app(
    settings: Settings, clock: FakeClock, fake_imis: FakeImis
) -> AsyncIterator[Quart]:
    fake_imis.add(ada())
    async with running_app(imis_settings(settings, fake_imis.url), clock) as app:
        yield app


async def member_object(
    app: Quart, acme: VendorLogin, login: str = "ada.lovelace", password: str = ADA_PASSWORD
) -> dict[str, object]:
    client = app.test_client()
    signed_in = await sign_in(client, login=login, password=password, **SSO)
    assert signed_in.status_code == 303, await signed_in.get_data(as_text=True)
    answer = await redeem(client, acme, await token_for(client, **SSO))
    assert answer.status_code == 200
    return json.loads(await answer.get_data(as_text=True))


async def test_a_member_signs_in_with_imis_credentials(
    imis_app: Quart, acme: VendorLogin, database_url: str, clock: FakeClock
) -> None:
    assert await member_object(imis_app, acme) == {
        "ImisId": "101",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada@example.org",
        "MemberType": "REG",
        "Company": "Analytical Engines Ltd",
        "PaidThrough": "2027-12-31",
        "IsMember": True,
        "sid": (await open_sids(database_url))[0],
    }
    async with unit_of_work(database_url) as session:
        row = (
            await session.execute(
                text("SELECT source, refreshed_at, password_hash, username FROM member")
            )
        ).one()
    assert row.source == "imis"
    assert row.refreshed_at == clock.current
    assert row.password_hash is None
    assert row.username == "ada.lovelace"


async def test_the_primary_email_wins_over_the_first(
    imis_app: Quart, acme: VendorLogin, fake_imis: FakeImis
) -> None:
    emails = [("old@example.org", False), ("primary@example.org", True)]
    person = person_data("101", {"FirstName": "Ada", "LastName": "Lovelace"}, emails=emails)
    fake_imis.add(replace(ada(), person=person))
    assert (await member_object(imis_app, acme))["Email"] == "primary@example.org"


async def test_missing_optional_data_is_null(
    imis_app: Quart, acme: VendorLogin, fake_imis: FakeImis
) -> None:
    person = person_data("101", {"FirstName": "Ada", "LastName": "Lovelace"})
    fake_imis.add(replace(ada(), person=person, cs_contact={"MemberType": "REG", "Status": "A"}))
    got = await member_object(imis_app, acme)
    assert (got["Company"], got["PaidThrough"], got["Email"]) == (None, None, None)
    assert got["IsMember"] is False  # no PaidThrough: not a paid-up member


async def test_a_lapsed_membership_is_not_a_member(
    imis_app: Quart, acme: VendorLogin, fake_imis: FakeImis
) -> None:
    lapsed = {"MemberType": "REG", "Status": "A", "PaidThrough": date_value("2025-12-31T00:00:00")}
    fake_imis.add(replace(ada(), cs_contact=lapsed))
    got = await member_object(imis_app, acme)
    assert (got["PaidThrough"], got["IsMember"]) == ("2025-12-31", False)


async def test_each_sign_in_refreshes_the_mirror(
    imis_app: Quart, acme: VendorLogin, fake_imis: FakeImis
) -> None:
    assert (await member_object(imis_app, acme))["MemberType"] == "REG"
    changed = {"MemberType": "FEL", "Status": "A", "PaidThrough": date_value("2028-01-01T00:00:00")}
    fake_imis.add(replace(ada(), cs_contact=changed))
    assert (await member_object(imis_app, acme))["MemberType"] == "FEL"


@pytest.mark.parametrize(("login", "password"), [("ada.lovelace", "wrong"), ("nobody", "x")])
async def test_wrong_password_and_unknown_user(
    imis_app: Quart, acme: VendorLogin, login: str, password: str
) -> None:
    response = await sign_in(imis_app.test_client(), login=login, password=password, **SSO)
    assert response.status_code == 401
    assert "not right" in await response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("mode", "on"),
    [
        ("error500", "/token"),
        ("error500", "/api/Person"),
        ("slow", "/"),
        ("malformed", "/token"),
        ("html", "/api/User"),
        ("redirect", "/token"),
    ],
)
async def test_an_imis_outage_is_a_clear_503(
    imis_app: Quart,
    acme: VendorLogin,
    fake_imis: FakeImis,
    database_url: str,
    mode: str,
    on: str,
) -> None:
    fake_imis.fail(mode, on=on)
    started = time.monotonic()
    response = await sign_in(
        imis_app.test_client(), login="ada.lovelace", password=ADA_PASSWORD, **SSO
    )
    assert time.monotonic() - started < 5  # bounded by the timeouts, a worker is never stuck
    html = await response.get_data(as_text=True)
    assert response.status_code == 503
    assert "temporarily unavailable" in html
    assert "not right" not in html
    async with unit_of_work(database_url) as session:
        reason = (
            await session.execute(
                text("SELECT details->>'reason' FROM audit_event WHERE event = 'sign_in'")
            )
        ).scalar_one()
    assert reason == "directory_unavailable"


async def test_imis_down(
    settings: Settings, clock: FakeClock, acme: VendorLogin, imis_down_url: str
) -> None:
    async with running_app(imis_settings(settings, imis_down_url), clock) as app:
        response = await sign_in(app.test_client(), login="ada.lovelace", password="x", **SSO)
        assert response.status_code == 503
        assert (await app.test_client().get("/healthz")).status_code == 200


async def test_outages_do_not_count_as_failed_sign_ins(
    imis_app: Quart, acme: VendorLogin, fake_imis: FakeImis
) -> None:
    fake_imis.fail("error500", on="/token")
    for _ in range(7):
        await sign_in(imis_app.test_client(), login="ada.lovelace", password=ADA_PASSWORD)
    fake_imis.fail("ok")
    assert (await member_object(imis_app, acme))["ImisId"] == "101"


async def test_the_throttle_stops_attempts_before_they_reach_imis(
    imis_app: Quart, acme: VendorLogin, fake_imis: FakeImis
) -> None:
    statuses = [
        (await sign_in(imis_app.test_client(), login="ada.lovelace", password="guess")).status_code
        for _ in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2
    assert len(fake_imis.token_forms) == 5


async def test_signed_in_members_keep_moving_while_imis_is_down(
    imis_app: Quart, acme: VendorLogin, fake_imis: FakeImis
) -> None:
    client = imis_app.test_client()
    await sign_in(client, login="ada.lovelace", password=ADA_PASSWORD)
    fake_imis.fail("error500")
    token = await token_for(client, **SSO)  # silent re-issue needs no directory
    assert (await redeem(client, acme, token)).status_code == 200


async def test_staff_can_still_disable_an_imis_member(
    imis_app: Quart, acme: VendorLogin, database_url: str
) -> None:
    await member_object(imis_app, acme)
    async with unit_of_work(database_url) as session:
        await session.execute(text("UPDATE member SET enabled = false"))
    response = await sign_in(imis_app.test_client(), login="ada.lovelace", password=ADA_PASSWORD)
    assert response.status_code == 401


async def test_a_local_record_in_the_way_is_reported_not_overwritten(
    imis_app: Quart, acme: VendorLogin, database_url: str
) -> None:
    await add_member(
        database_url, imis_id="555", username="ada.lovelace", email="other@example.org"
    )
    response = await sign_in(imis_app.test_client(), login="ada.lovelace", password=ADA_PASSWORD)
    assert response.status_code == 503
    async with unit_of_work(database_url) as session:
        imis_ids = (await session.execute(text("SELECT imis_id FROM member"))).scalars().all()
        cause = (
            await session.execute(
                text("SELECT details->>'cause' FROM audit_event WHERE event = 'sign_in'")
            )
        ).scalar_one()
    assert imis_ids == ["555"]
    assert "same username or email" in cause


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"directory": "imis"}, "PORTAL_IMIS_URL"),
        (
            {
                "directory": "imis",
                "imis_url": "http://imis.example",
                "env": "production",
                "secret_key": TEST_SECRET_KEY,
                "public_url": "https://sso.example.org",
            },
            "https",
        ),
        (
            {
                "directory": "imis",
                "imis_url": "https://imis.example",
                "imis_field_map": {"Shoesize": "Person.X"},
            },
            "Shoesize",
        ),
        (
            {"directory": "imis", "imis_url": "https://imis.example", "imis_username": "svc"},
            "service account",
        ),
    ],
)
def test_a_misconfigured_directory_refuses_to_start(
    settings: Settings, changes: dict[str, object], says: str
) -> None:
    with pytest.raises(SettingsError, match=says):
        create_app(settings.model_copy(update=changes))


async def test_imis_check_command(
    fake_imis: FakeImis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTAL_IMIS_URL", fake_imis.url)
    monkeypatch.setenv("PORTAL_ENV", "development")
    # The command runs its own event loop; this one keeps serving the fake iMIS meanwhile.
    assert await asyncio.to_thread(cli.main, ["imis", "check"]) == 0
    assert "iMIS answers at" in capsys.readouterr().out
    fake_imis.fail("error500")
    assert await asyncio.to_thread(cli.main, ["imis", "check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("portal: iMIS at ") and err.count("\n") == 1


async def test_staff_see_where_a_member_came_from_and_when(
    imis_app: Quart, acme: VendorLogin, database_url: str
) -> None:
    await member_object(imis_app, acme)
    await add_staff(database_url, "admin@example.org", "admin")
    staff = Browser(imis_app)
    assert (await staff.sign_in("admin@example.org")).status_code == 303
    listing = await (await staff.get("/admin/members", q="ada.lovelace")).get_data(as_text=True)
    assert "iMIS" in listing
    page = await (await staff.get("/admin/members/1")).get_data(as_text=True)
    assert "From iMIS" in page
    assert "last refreshed 2026-11-27 12:00 UTC" in page
    refused = await staff.post("/admin/members/1/password", {"password": "a local password"})
    assert refused.status_code == 422
