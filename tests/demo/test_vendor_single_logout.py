"""The demo vendors end exactly the session a logout token names (issue 21, item 18), through
live servers and real HTTP: one member signed in at a demo vendor from two browsers has two
portal sessions; one of them ends, and only the vendor session that came from it ends. The
Enhanced vendor keeps the member object's `sid`, the OpenID Connect forum its ID token's."""

from collections.abc import Callable

import pytest

from tests.demo.browser import Browser, Page
from tests.demo.test_oidc_vendor import sign_in_with_password
from tests.demo.test_vendor import signed_in_as
from tests.live import ACME, FORUM, LiveDemo, wait_for_delivery

SIGN_IN: dict[str, Callable[[Browser, str], Page]] = {
    ACME: Browser.sign_in,  # the token-post page, posted as its script does
    FORUM: sign_in_with_password,  # OpenID Connect: the code comes back by redirect
}


@pytest.mark.parametrize("vendor", [ACME, FORUM])
def test_one_portal_session_ending_ends_only_the_vendor_session_it_gave(
    demo: LiveDemo, vendor: str
) -> None:
    site = demo.vendor_urls[vendor]
    with Browser() as leaving, Browser() as staying:
        for browser in (leaving, staying):
            assert signed_in_as(SIGN_IN[vendor](browser, site + "/")) == "Ada Lovelace"
        # At the portal itself, so the vendor hears of it only by its back channel.
        leaving.submit(leaving.get(demo.portal_url + "/"), "/sign-out")
        wait_for_delivery(demo, vendor)
        after = leaving.get(site + "/")
        assert signed_in_as(after) is None
        assert "so you are signed out here too" in after.text
        assert signed_in_as(staying.get(site + "/")) == "Ada Lovelace"
