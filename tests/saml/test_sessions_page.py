"""A member signed in to a site only through SAML: staff's live sessions list the site (the
session's session_vendor row, written as the Response is issued)."""

from collections.abc import AsyncIterator

import pytest
from quart import Quart

from portal.settings import Settings
from tests.admin.browser import Browser, add_staff, text
from tests.conftest import FakeClock, running_app
from tests.flows import sign_in
from tests.saml import sp
from tests.saml.saml_flows import add_saml_vendor


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    async with running_app(settings, clock, issuer="https://sso.example.org") as app:
        yield app


@pytest.mark.usefixtures("ada")
async def test_the_staffs_sessions_page_lists_a_site_reached_through_saml(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata())
    member = app.test_client()
    assert (await sign_in(member)).status_code == 303
    query = sp.redirect_query(sp.authn_request(clock.current))
    answer = await member.get(f"/saml/sso?{query}")
    assert answer.status_code == 200
    await add_staff(database_url, "admin@example.org", "admin")
    staff = Browser(app)
    assert (await staff.sign_in("admin@example.org")).status_code == 303
    body = await text(await staff.get("/admin/sessions"))
    assert "Learning Hub" in body
