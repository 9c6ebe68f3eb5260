"""The sign-in page carries any front end's request on as `next`, and only such a request."""

import pytest
from quart import Quart

from portal import continuations
from tests.flows import VendorLogin, page, sign_in

AUTHORIZE = "/oidc/authorize?client_id=acme&response_type=code&state=s%26t"


@pytest.mark.parametrize(
    "value",
    [
        "/sso/signin?vendor=acme",
        AUTHORIZE,
        "/oidc/authorize",
    ],
)
def test_a_protocol_request_on_this_origin_continues(value: str) -> None:
    assert continuations.checked(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "/",
        "/admin",
        "/sign-in?next=/sso/signin",
        "https://evil.example/sso/signin",
        "//evil.example/sso/signin",
        "/\\evil.example/sso/signin",
        "/sso/signin\\@evil.example",
        " /sso/signin",
        "/sso/signin?\tvendor=acme",
        "/sso/signin#fragment",
        "/oidc/authorize/../../admin",
        "javascript:alert(1)//sso/signin",
        # A scheme without `//`: a browser on an https page reads http:/sso/signin as
        # http://sso/signin, another host (the WHATWG URL standard).
        "http:/sso/signin",
        "https:/oidc/authorize?client_id=acme",
        "javascript:/sso/signin",
        "/sso/signin?" + "x" * continuations.MAX_LENGTH,
    ],
)
def test_anything_else_is_ignored(value: str | None) -> None:
    assert continuations.checked(value) is None


async def test_a_sign_in_continues_to_the_request_and_names_its_vendor(
    app: Quart, acme: VendorLogin, ada: None
) -> None:
    client = app.test_client()
    form_page = await client.get("/sign-in", query_string={"next": AUTHORIZE})
    assert (await page(form_page)).hidden["next"] == AUTHORIZE
    assert "Acme" in await form_page.get_data(as_text=True)
    response = await sign_in(client, next=AUTHORIZE)
    assert (response.status_code, response.headers["Location"]) == (303, AUTHORIZE)


async def test_a_foreign_next_lands_on_the_portal_home(app: Quart, ada: None) -> None:
    response = await sign_in(app.test_client(), next="https://evil.example/sso/signin")
    assert (response.status_code, response.headers["Location"]) == (303, "/")
