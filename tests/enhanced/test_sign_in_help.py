"""The way out of a failed sign-in keeps the vendor's request (issue 26, item 10): the failed
page's history entry becomes the plain sign-in page (so Back to it asks nothing), and the help
page's "Back to sign in" and "Forgot your password?" carry the request on. e2e/test_back_button.py
and e2e/test_password_reset.py walk it in Chromium."""

import re
from collections.abc import AsyncIterator
from html import unescape
from urllib.parse import quote

import pytest
from quart import Quart

from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import add_vendor, sign_in

pytestmark = pytest.mark.usefixtures("ada")
SSO = {"vendor": "acme", "ReturnURL": "https://acme-learning.com/course"}


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    """With mail, so "Forgot your password?" is the portal's own page (nothing is sent)."""
    async with running_app(
        settings, clock, smtp_url="smtp://127.0.0.1:9", mail_from="p@x.org"
    ) as app:
        yield app


def hrefs(html: str) -> dict[str, str]:
    """Each link's words and where it goes."""
    found = re.findall(r'<a [^>]*href="([^"]*)"[^>]*>([^<]+)</a>', html)
    return {words.strip(): unescape(href) for href, words in found}


async def test_a_failed_sign_in_page_stands_in_history_as_the_plain_sign_in_page(
    app: Quart, database_url: str
) -> None:
    await add_vendor(database_url)
    client = app.test_client()
    wrong = await sign_in(client, password="not the password", **SSO)
    assert wrong.status_code == 401
    html = await wrong.get_data(as_text=True)
    history_url = unescape(re.findall(r'data-history-url="([^"]*)"', html)[0])
    assert history_url.startswith("/sign-in?next=/sso/signin%3F")
    assert "ada" not in history_url  # the name typed is not kept in the browser's history
    assert '<script src="/static/js/sign_in_again.js' in html
    assert (await client.get("/static/js/sign_in_again.js")).status_code == 200
    again = await (await client.get(history_url)).get_data(as_text=True)
    assert 'data-testid="signin-vendor"' in again and "Acme Learning" in again
    assert "not right" not in again and 'id="sign-in-error"' not in again


async def test_the_help_page_carries_the_vendors_request(app: Quart, database_url: str) -> None:
    await add_vendor(database_url)
    client = app.test_client()
    sign_in_page = await (await client.get("/sign-in", query_string=SSO)).get_data(as_text=True)
    help_url = hrefs(sign_in_page)["Trouble signing in?"]
    assert help_url.startswith("/help?next=/sso/signin%3F")

    links = hrefs(await (await client.get(help_url)).get_data(as_text=True))
    carried = help_url.removeprefix("/help")
    assert links["Back to sign in"] == f"/sign-in{carried}"
    assert links["Forgot your password?"] == f"/password/forgot{carried}"
    back = await (await client.get(links["Back to sign in"])).get_data(as_text=True)
    assert 'data-testid="signin-vendor"' in back and "Acme Learning" in back
    forgot = await (await client.get(links["Forgot your password?"])).get_data(as_text=True)
    assert hrefs(forgot)["Back to sign in"] == f"/sign-in{carried}"


@pytest.mark.parametrize(
    "elsewhere", ["https://evil.example/", "//evil.example/x", "/admin/", "/sign-in?next=/"]
)
async def test_the_help_page_carries_only_a_request_of_the_portal(
    app: Quart, elsewhere: str
) -> None:
    # Its links are the portal's own: a `next` that is no front end's entry path is dropped,
    # so the help page cannot be made to send a member anywhere else after signing in.
    answer = await app.test_client().get(f"/help?next={quote(elsewhere, safe='')}")
    assert answer.status_code == 200
    links = hrefs(await answer.get_data(as_text=True))
    assert links["Back to sign in"] == "/sign-in"
    assert links["Forgot your password?"] == "/password/forgot"
