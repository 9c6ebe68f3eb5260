"""A query string whose percent-encoding is not UTF-8: werkzeug keeps such bytes encoded, so
`state=%ff` reached the rules as the harmless text "%FF" and was echoed to the vendor changed.
The portal reads them as U+FFFD (as Quart reads forms), and every rule refuses them."""

import pytest
from quart import Quart

from tests.enhanced.test_views import audit_events
from tests.flows import VendorLogin, page, sign_in

pytestmark = pytest.mark.usefixtures("ada")


@pytest.mark.parametrize(
    ("query", "says", "reason"),
    [
        ("vendor=acme&state=%ff", "The state must be", "state"),
        ("vendor=acme&state=ok%C3%28%80", "The state must be", "state"),
        ("vendor=acme&STATE=%fe%ff", "The state must be", "state"),
        ("vendor=acme&ReturnURL=https%3A%2F%2Facme-learning.com%2F%ff", "ReturnURL", "return_url"),
        ("vendor=acme%ff", "There is no active vendor", "unknown_vendor"),
    ],
)
async def test_bytes_that_are_not_utf8_are_refused_like_any_bad_value(
    app: Quart, acme: VendorLogin, database_url: str, query: str, says: str, reason: str
) -> None:
    client = app.test_client()
    await sign_in(client)  # with a session, a request that passed would get a token at once
    response = await client.get(f"/sso/signin?{query}")  # sent as is: the raw query string
    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert says in html
    assert 'name="token"' not in html
    events = await audit_events(database_url, "sso.rejected") + await audit_events(
        database_url, "return_url.rejected"
    )
    assert [event["details"]["reason"] for event in events] == [reason]  # type: ignore[index]


async def test_a_percent_sign_in_a_state_is_kept_as_sent(app: Quart, acme: VendorLogin) -> None:
    client = app.test_client()
    await sign_in(client)
    response = await client.get("/sso/signin?vendor=acme&state=%25FF%25ff")
    assert response.status_code == 200
    assert (await page(response)).hidden["state"] == "%FF%ff"


async def test_the_sign_in_page_refuses_them_too(app: Quart, acme: VendorLogin) -> None:
    response = await app.test_client().get("/sign-in?vendor=%ff")
    assert response.status_code == 400
