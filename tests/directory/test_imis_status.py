"""iMIS's status disables a member (PORTAL_IMIS_DISABLED_STATUSES): at the sign-in where iMIS
reports such a status, the sign-in is refused and the member is disabled in the portal as staff
would disable them — every other session ends, and the event says iMIS did it. Enabling again is
staff's decision; without the setting iMIS's status disables nobody."""

from collections.abc import AsyncIterator

import pytest
from quart import Quart
from sqlalchemy import text

from portal import audit, members
from portal.settings import Settings, SettingsError, load_settings
from tests.conftest import FakeClock, running_app
from tests.directory.test_imis_directory import SSO, imis_settings
from tests.fake_imis import FakeImis
from tests.flows import VendorLogin, sign_in, token_for, unit_of_work
from tests.imis_samples import ADA_PASSWORD, ada

INACTIVE = ada(cs_contact={**(ada().cs_contact or {}), "Status": "I"})


@pytest.fixture
async def imis_app(
    settings: Settings, clock: FakeClock, fake_imis: FakeImis
) -> AsyncIterator[Quart]:
    fake_imis.add(ada())
    configured = imis_settings(settings, fake_imis.url)
    async with running_app(configured, clock, imis_disabled_statuses="i, D") as app:
        yield app


async def signs_in(app: Quart) -> int:
    response = await sign_in(app.test_client(), login="ada.lovelace", password=ADA_PASSWORD)
    return response.status_code


async def test_a_status_that_disables_ends_the_members_access_at_their_next_sign_in(
    imis_app: Quart, acme: VendorLogin, fake_imis: FakeImis, database_url: str, clock: FakeClock
) -> None:
    browser = imis_app.test_client()
    await sign_in(browser, login="ada.lovelace", password=ADA_PASSWORD, **SSO)
    await token_for(browser, **SSO)
    fake_imis.add(INACTIVE)

    assert await signs_in(imis_app) == 401
    assert (await browser.get("/sso/signin", query_string=SSO)).status_code == 303  # signed out
    async with unit_of_work(database_url) as db:
        disabled = (
            await db.execute(
                text("SELECT details, staff_email FROM audit_event WHERE event = 'member.disabled'")
            )
        ).one()
        refused = await db.execute(
            text("SELECT details->>'reason' FROM audit_event WHERE event = 'sign_in' ORDER BY id")
        )
        ended = await db.execute(text("SELECT end_reason FROM auth_session"))
        assert list(refused.scalars()) == [None, "disabled"]
        assert list(ended.scalars()) == ["member_disabled"]
    assert disabled.staff_email is None
    assert (disabled.details["via"], disabled.details["reason"]) == ("imis", "imis_status")
    assert disabled.details["sessions_ended"] == 1

    fake_imis.add(ada())  # active in iMIS again: still disabled here until staff enable them
    assert await signs_in(imis_app) == 401
    async with unit_of_work(database_url) as db:
        member = await members.find_member(db, "101")
        assert member is not None
        await members.enable(db, member, now=clock.current, by=audit.Actor(via="cli"))
    assert await signs_in(imis_app) == 303


async def test_without_the_setting_imis_status_disables_nobody(
    settings: Settings, clock: FakeClock, fake_imis: FakeImis
) -> None:
    fake_imis.add(INACTIVE)
    async with running_app(imis_settings(settings, fake_imis.url), clock) as app:
        assert await signs_in(app) == 303


def test_a_status_code_that_cannot_be_one_is_refused_in_one_line() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env="development", imis_disabled_statuses="I; D")
    assert str(refused.value) == (
        "PORTAL_IMIS_DISABLED_STATUSES: 'I;' is not an iMIS status code, such as I"
    )
