"""A vendor's place on "My sites" (issue 25): shown, a greyed "coming soon" tile that goes
nowhere, or hidden — decided in one place (vendors.my_sites) for the home and account pages
alike, and about the list only: the vendor's own site still signs members in."""

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlmodel import col, select

from portal.models import Vendor
from tests.flows import add_vendor, sign_in, unit_of_work
from tests.saml.saml_flows import add_saml_vendor

pytestmark = pytest.mark.usefixtures("ada")
PAGES = (("/", "my-sites"), ("/account", "account-sites"))


async def place(database_url: str, key: str, my_sites: str) -> None:
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(col(Vendor.key) == key))).one()
        vendor.my_sites = my_sites
        session.add(vendor)


async def tiles(client: Client, path: str, testid: str) -> str:
    """The page's list of sites, and nothing else of it."""
    response = await client.get(path)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</ul>", start)]


@pytest.mark.parametrize(("path", "testid"), PAGES)
async def test_each_page_lists_greys_or_leaves_out_a_site_as_staff_chose(
    app: Quart, database_url: str, path: str, testid: str
) -> None:
    await add_vendor(database_url, start_url="https://acme-learning.com/sso/start")
    await add_vendor(database_url, key="careerhub", name="CareerHub Jobs", domain="careerhub.io")
    await add_vendor(database_url, key="library", name="Library", domain="library.org")
    await place(database_url, "careerhub", "coming-soon")
    await place(database_url, "library", "hidden")
    client = app.test_client()
    await sign_in(client)

    listed = await tiles(client, path, testid)
    assert '<a class="my-sites__link" href="https://acme-learning.com/sso/start">' in listed
    soon = listed[listed.index('data-testid="coming-soon"') :].split("</li>", 1)[0]
    assert "CareerHub Jobs" in soon and "Coming soon" in soon
    assert "href" not in soon and "<form" not in soon and "<button" not in soon
    assert "careerhub" not in listed  # no way to its sign-in from the list
    assert "Library" not in listed
    assert listed.index("Acme Learning") < listed.index("CareerHub Jobs")  # still by name

    await place(database_url, "careerhub", "shown")
    await place(database_url, "library", "shown")
    listed = await tiles(client, path, testid)
    assert '<a class="my-sites__link" href="/sso/signin?vendor=careerhub">' in listed
    assert '<a class="my-sites__link" href="/sso/signin?vendor=library">' in listed
    assert "Coming soon" not in listed


@pytest.mark.parametrize("my_sites", ["hidden", "coming-soon"])
async def test_a_site_off_the_list_still_signs_in_members_it_sends(
    app: Quart, database_url: str, my_sites: str
) -> None:
    await add_vendor(database_url, key="careerhub", name="CareerHub Jobs", domain="careerhub.io")
    await place(database_url, "careerhub", my_sites)
    client = app.test_client()
    await sign_in(client)
    silent = await client.get("/sso/signin?vendor=careerhub")
    body = await silent.get_data(as_text=True)
    assert silent.status_code == 200 and 'action="https://careerhub.io/sso/token"' in body


async def test_a_list_of_only_hidden_sites_says_there_are_none(
    app: Quart, database_url: str
) -> None:
    await add_vendor(database_url)
    await place(database_url, "acme", "hidden")
    client = app.test_client()
    await sign_in(client)
    home = await (await client.get("/")).get_data(as_text=True)
    assert "has no partner sites yet" in home and "Acme Learning" not in home


async def test_a_coming_soon_site_is_never_opened_from_the_portal_whatever_its_sign_in(
    app: Quart, database_url: str
) -> None:
    # A SAML site opened by a form the portal posts, and an OpenID Connect site without a start
    # page (shown, it would not be listed at all: only it can start its sign-in).
    await add_saml_vendor(database_url, saml_idp_initiated=True)
    forum = {"protocol": "oidc", "token_url": None, "signout_url": None, "domain": "forum.org"}
    await add_vendor(database_url, key="forum", name="Forum", **forum)
    client = app.test_client()
    await sign_in(client)
    listed = await tiles(client, "/", "my-sites")
    assert 'action="/saml/start?vendor=lms"' in listed and "Forum" not in listed

    await place(database_url, "lms", "coming-soon")
    await place(database_url, "forum", "coming-soon")
    listed = await tiles(client, "/", "my-sites")
    assert listed.count('data-testid="coming-soon"') == 2
    assert "Forum" in listed and "Learning Hub" in listed
    assert "<form" not in listed and "href" not in listed and "/saml/start" not in listed
