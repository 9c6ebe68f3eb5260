"""The member's own pages (issue 13, points 8 and 10): "My sites" on the portal's home, the
sign-in page's error tied to the password, its show-password toggle and its help link."""

import pytest
from quart import Quart
from sqlmodel import col, select

from portal.models import Vendor
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import add_vendor, sign_in, unit_of_work

pytestmark = pytest.mark.usefixtures("ada")
PASSWORD_INPUT = '<input class="input " type="password" id="field-password" name="password"'


async def disable(database_url: str, key: str) -> None:
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(col(Vendor.key) == key))).one()
        vendor.enabled = False
        session.add(vendor)


async def test_my_sites_lists_the_enabled_vendors_each_with_its_sign_in(
    app: Quart, database_url: str
) -> None:
    await add_vendor(database_url, start_url="https://acme-learning.com/sso/start")
    await add_vendor(database_url, key="careerhub", name="CareerHub Jobs", domain="careerhub.io")
    await add_vendor(database_url, key="zeta", name="Zeta Retired", domain="zeta.org")
    await disable(database_url, "zeta")
    # An OpenID Connect site without a start page: only the site can begin its own sign-in.
    forum = {"protocol": "oidc", "token_url": None, "signout_url": None, "domain": "forum.org"}
    await add_vendor(database_url, key="forum", name="Forum Without Start", **forum)
    client = app.test_client()
    assert "My sites" not in await (await client.get("/")).get_data(as_text=True)

    await sign_in(client)
    home = await (await client.get("/")).get_data(as_text=True)
    assert "My sites" in home
    assert '<a class="my-sites__link" href="https://acme-learning.com/sso/start">' in home
    assert '<a class="my-sites__link" href="/sso/signin?vendor=careerhub">' in home
    assert home.index("Acme Learning") < home.index("CareerHub Jobs")  # by name
    assert "Zeta Retired" not in home
    assert "Forum Without Start" not in home

    # Without a start page the link is a silent sign-in: the token-post page, no form to fill.
    silent = await client.get("/sso/signin?vendor=careerhub")
    body = await silent.get_data(as_text=True)
    assert silent.status_code == 200 and 'action="https://careerhub.io/sso/token"' in body


async def test_the_password_is_tied_to_the_sign_in_error(app: Quart) -> None:
    client = app.test_client()
    fresh = await (await client.get("/sign-in")).get_data(as_text=True)
    assert "aria-invalid" not in fresh and 'id="sign-in-error"' not in fresh

    wrong = await sign_in(client, password="not the password")
    html = await wrong.get_data(as_text=True)
    assert wrong.status_code == 401
    assert '<div class="flashes" id="sign-in-error" data-history-url="/sign-in">' in html
    password = html[html.index(PASSWORD_INPUT) :].split(">", 1)[0]
    assert 'aria-invalid="true"' in password and 'aria-describedby="sign-in-error"' in password


async def test_the_show_password_toggle_is_a_labelled_button_run_by_a_static_script(
    app: Quart,
) -> None:
    client = app.test_client()
    html = await (await client.get("/sign-in")).get_data(as_text=True)
    assert (
        '<button type="button" class="btn btn--subtle btn--small password-toggle" '
        'id="password-toggle" aria-controls="field-password" hidden>'
        "Show password</button>"
    ) in html
    assert '<script src="/static/js/show_password.js' in html
    script = await client.get("/static/js/show_password.js")
    assert script.status_code == 200


async def test_the_help_link_goes_to_the_portals_help_page_by_default(app: Quart) -> None:
    client = app.test_client()
    html = await (await client.get("/sign-in")).get_data(as_text=True)
    assert '<a href="/help" data-testid="sign-in-help">Trouble signing in?</a>' in html
    help_page = await client.get("/help")
    assert help_page.status_code == 200
    assert "contact Example Association" in await help_page.get_data(as_text=True)


@pytest.mark.parametrize(
    "help_url", ["https://example.org/members/help", "mailto:membership@example.org"]
)
async def test_the_help_link_follows_portal_help_url(
    settings: Settings, clock: FakeClock, help_url: str
) -> None:
    async with running_app(settings, clock, help_url=help_url) as app:
        html = await (await app.test_client().get("/sign-in")).get_data(as_text=True)
    assert f'<a href="{help_url}" data-testid="sign-in-help">' in html
