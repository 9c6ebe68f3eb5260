"""A SAML site opened from "My sites" in Chromium (IdP-initiated, docs/saml.md): the tile is a
button whose form carries the portal's CSRF token, and the page it leads to posts the signed
Response to the site's AssertionConsumerService by itself (static/js/autopost.js). The site's
address is answered here (Playwright's routing), where the stock SP (python3-saml, strict) reads
what Chromium posted."""

import asyncio
from urllib.parse import parse_qsl

from playwright.sync_api import Page, Route, expect

from e2e.steps import fill_portal_sign_in
from tests.flows import off_the_loop
from tests.live import LiveDemo
from tests.saml import sp
from tests.saml.saml_flows import add_saml_vendor, consumed, sp_from_metadata_url

LANDING = "https://sp.example.com/courses/42"


def test_a_member_opens_a_saml_site_from_my_sites(page: Page, demo: LiveDemo) -> None:
    off_the_loop(
        lambda: asyncio.run(
            add_saml_vendor(demo.database_url, saml_idp_initiated=True, saml_relay_state=LANDING)
        )
    )
    settings = off_the_loop(lambda: sp_from_metadata_url(f"{demo.portal_url}/saml/metadata"))
    posted: list[dict[str, str]] = []

    def acs(route: Route) -> None:
        posted.append(dict(parse_qsl(route.request.post_data or "")))
        route.fulfill(status=200, content_type="text/html", body="<h1>Learning Hub</h1>")

    page.route(sp.ACS, acs)
    page.goto(f"{demo.portal_url}/sign-in")
    fill_portal_sign_in(page)
    sites = page.get_by_role("region", name="My sites")
    tile = sites.get_by_role("button", name="Learning Hub")
    expect(tile).to_be_visible()
    tile.click()
    expect(page).to_have_url(sp.ACS)
    [fields] = posted
    assert fields["RelayState"] == LANDING
    auth = consumed(settings, fields, None)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.get_nameid()
