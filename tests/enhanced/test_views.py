"""The member-facing flow of protocol.md §2, §3 and §7, through the ASGI app against Postgres."""

import pytest
from quart import Quart
from sqlalchemy import text

from portal.models import Vendor
from tests.flows import (
    PASSWORD,
    VendorLogin,
    add_vendor,
    open_sids,
    page,
    redeem,
    sign_in,
    token_for,
    unit_of_work,
)

DEEP_LINK = "https://acme-learning.com/courses/7?tab=notes"
SSO = {"vendor": "acme", "ReturnURL": DEEP_LINK, "state": "vendor-state-1"}

pytestmark = pytest.mark.usefixtures("ada")


async def audit_events(database_url: str, event: str) -> list[dict[str, object]]:
    async with unit_of_work(database_url) as session:
        rows = await session.execute(
            text(
                "SELECT outcome, vendor_key, details FROM audit_event WHERE event = :e ORDER BY id"
            ),
            {"e": event},
        )
        return [dict(row._mapping) for row in rows]


async def test_seed_sign_in_workflow(app: Quart, acme: VendorLogin, database_url: str) -> None:
    client = app.test_client()
    start = await client.get("/sso/signin", query_string=SSO)
    assert start.status_code == 303
    assert start.headers["Location"].startswith("/sign-in?vendor=acme&")

    form_page = await client.get(start.headers["Location"])
    html = await form_page.get_data(as_text=True)
    assert form_page.status_code == 200
    assert "Acme Learning" in html
    assert 'name="username"' in html and 'autocomplete="username"' in html
    assert 'name="password"' in html and 'autocomplete="current-password"' in html
    assert '<label class="field__label" for="field-username">' in html

    signed_in = await sign_in(client, **SSO)
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == f"/sso/signin?{start.headers['Location'][9:]}"

    post_page = await client.get(signed_in.headers["Location"])
    assert post_page.status_code == 200
    form = await page(post_page)
    assert form.forms[0]["action"] == "https://acme-learning.com/sso/token"
    assert form.forms[0]["method"] == "post"
    assert set(form.hidden) == {"token", "ReturnURL", "state"}
    assert form.hidden["ReturnURL"] == DEEP_LINK
    assert form.hidden["state"] == "vendor-state-1"
    assert [s["src"] for s in form.scripts] == ["/static/js/autopost.js"]
    assert "Continue" in await post_page.get_data(as_text=True)

    answer = await redeem(client, acme, form.hidden["token"])
    assert answer.status_code == 200
    assert await answer.get_json() == {
        "ImisId": "101",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada@example.org",
        "MemberType": "REG",
        "sid": (await open_sids(database_url))[0],
    }
    issued = await audit_events(database_url, "token.issued")
    assert [event["details"] for event in issued] == [{"silent": False}]


async def test_the_token_post_page_headers(app: Quart, acme: VendorLogin) -> None:
    client = app.test_client()
    await sign_in(client)
    response = await client.get("/sso/signin", query_string=SSO)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["form-action"] == "https://acme-learning.com https://*.acme-learning.com"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


async def test_the_token_post_page_carries_each_answers_own_values_escaped(
    app: Quart, acme: VendorLogin
) -> None:
    """The page is rendered once per vendor (views.token_post_page): each answer's values are
    its own, escaped as the template escapes them."""
    client = app.test_client()
    await sign_in(client)
    tokens = set()
    for state in ("x\"><script>alert(1)</script>&'", "second-state"):
        response = await client.get("/sso/signin", query_string={"vendor": "acme", "state": state})
        html = await response.get_data(as_text=True)
        assert "<script>alert" not in html
        form = await page(response)
        assert form.hidden["state"] == state
        tokens.add(form.hidden["token"])
    assert len(tokens) == 2


async def test_a_vendor_that_lost_its_session_gets_the_member_back_silently(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client, **SSO)
    first = await token_for(client, **SSO)
    assert (await redeem(client, acme, first)).status_code == 200

    again = await client.get("/sso/signin", query_string={"vendor": "acme"})
    assert again.status_code == 200  # no sign-in page: the portal session is enough
    second = (await page(again)).hidden["token"]
    assert second != first
    assert (await redeem(client, acme, second)).status_code == 200
    issued = await audit_events(database_url, "token.issued")
    assert [event["details"] for event in issued] == [{"silent": False}, {"silent": True}]


async def test_a_second_vendor_gets_the_member_without_a_second_sign_in(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    jobs = await add_vendor(
        database_url, key="careerhub", name="CareerHub", domain="careerhub.example"
    )
    client = app.test_client()
    await sign_in(client, **SSO)
    token = await token_for(client, vendor="careerhub")
    assert (await redeem(client, jobs, token)).status_code == 200


async def test_sign_out_workflow(app: Quart, acme: VendorLogin, database_url: str) -> None:
    client = app.test_client()
    await sign_in(client, **SSO)
    cookie = client.cookie_jar  # type: ignore[attr-defined]
    unredeemed = await token_for(client, **SSO)
    copied = {c.name: c.value for c in cookie}

    out = await client.get(
        "/sso/signout", query_string={"vendor": "acme", "ReturnURL": "https://acme-learning.com/"}
    )
    assert out.status_code == 303
    assert out.headers["Location"] == "https://acme-learning.com/"
    assert (await client.get("/sso/signin", query_string=SSO)).status_code == 303
    assert (await redeem(client, acme, unredeemed)).status_code == 400

    thief = app.test_client()
    for name, value in copied.items():
        thief.set_cookie("localhost", name, value)
    assert (await thief.get("/sso/signin", query_string=SSO)).status_code == 303
    assert [e["outcome"] for e in await audit_events(database_url, "sign_out")] == ["success"]


async def test_sign_out_without_return_url_lands_on_the_vendors_page(
    app: Quart, acme: VendorLogin
) -> None:
    client = app.test_client()
    await sign_in(client)
    out = await client.get("/sso/signout", query_string={"vendor": "acme"})
    assert (out.status_code, out.headers["Location"]) == (303, "https://acme-learning.com/goodbye")


async def test_sign_out_without_any_landing_page_shows_the_portals(
    app: Quart, database_url: str
) -> None:
    await add_vendor(database_url, key="bare", signout_url=None)
    client = app.test_client()
    await sign_in(client)
    out = await client.get("/sso/signout", query_string={"vendor": "bare"})
    assert (out.status_code, out.headers["Location"]) == (303, "/signed-out")
    assert "You are signed out" in await (await client.get("/signed-out")).get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        {"vendor": "acme", "ReturnURL": "https://evil.example/"},
        {"vendor": "nobody", "ReturnURL": "https://acme-learning.com/"},
        {},
    ],
)
async def test_a_bad_sign_out_request_still_signs_out_and_redirects_nowhere(
    app: Quart, acme: VendorLogin, query: dict[str, str]
) -> None:
    client = app.test_client()
    await sign_in(client)
    out = await client.get("/sso/signout", query_string=query)
    assert out.status_code == 200
    assert "Location" not in out.headers
    html = await out.get_data(as_text=True)
    assert 'data-testid="signout-notice"' in html
    assert (await client.get("/sso/signin", query_string=SSO)).status_code == 303


async def test_sign_out_from_the_portals_own_page_needs_csrf(app: Quart, acme: VendorLogin) -> None:
    client = app.test_client()
    await sign_in(client)
    assert (await client.post("/sign-out")).status_code == 403
    assert (await client.get("/sso/signin", query_string=SSO)).status_code == 200
    csrf = (await page(await client.get("/"))).hidden["csrf_token"]
    out = await client.post("/sign-out", form={"csrf_token": csrf})
    assert (out.status_code, out.headers["Location"]) == (303, "/signed-out")
    assert (await client.get("/sso/signin", query_string=SSO)).status_code == 303


async def test_passive_with_a_session_gets_a_token(app: Quart, acme: VendorLogin) -> None:
    client = app.test_client()
    await sign_in(client)
    response = await client.get("/sso/signin", query_string={**SSO, "passive": "1"})
    assert response.status_code == 200
    assert "token" in (await page(response)).hidden


@pytest.mark.parametrize("passive", ["1", "true", "TRUE"])
async def test_passive_without_a_session_answers_login_required(
    app: Quart, acme: VendorLogin, passive: str
) -> None:
    response = await app.test_client().get("/sso/signin", query_string={**SSO, "passive": passive})
    assert response.status_code == 200
    assert (await page(response)).hidden == {
        "error": "login_required",
        "ReturnURL": DEEP_LINK,
        "state": "vendor-state-1",
    }
    assert response.headers["Cache-Control"] == "no-store"


async def test_parameter_names_are_case_insensitive(app: Quart, acme: VendorLogin) -> None:
    client = app.test_client()
    await sign_in(client)
    query = "VENDOR=acme&returnUrl=https%3A%2F%2Facme-learning.com%2F&State=x"
    response = await client.get(f"/sso/signin?{query}")
    assert response.status_code == 200
    assert (await page(response)).hidden["ReturnURL"] == "https://acme-learning.com/"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("vendor=nobody", "no active vendor"),
        ("", "no active vendor"),
        ("vendor=acme&vendor=acme", "more than once"),
        ("vendor=acme&ReturnURL=https%3A%2F%2Facme-learning.com%2F&returnurl=x", "more than once"),
        ("vendor=acme&ReturnURL=http%3A%2F%2Facme-learning.com%2F", "ReturnURL"),
        ("vendor=acme&ReturnURL=https%3A%2F%2Facme-learning.com.evil.com%2F", "ReturnURL"),
        ("vendor=acme&ReturnURL=%2F%2Fevil.com%2F", "ReturnURL"),
        ("vendor=acme&ReturnURL=javascript%3Aalert(1)", "ReturnURL"),
        ("vendor=acme&state=" + "x" * 513, "state"),
        ("vendor=acme&state=a%0Ab", "state"),
        ("vendor=acme&state=caf%C3%A9", "state"),
        ("vendor=acme&passive=maybe", "passive"),
    ],
)
async def test_bad_sign_in_requests_get_a_400_page_and_no_redirect(
    app: Quart, acme: VendorLogin, database_url: str, query: str, says: str
) -> None:
    client = app.test_client()
    await sign_in(client)  # even with a session, nothing is issued for a bad request
    response = await client.get(f"/sso/signin?{query}")
    assert response.status_code == 400
    assert "Location" not in response.headers
    html = await response.get_data(as_text=True)
    assert says.lower() in html.lower()
    assert 'name="token"' not in html
    events = await audit_events(database_url, "sso.rejected") + await audit_events(
        database_url, "return_url.rejected"
    )
    assert len(events) == 1


async def test_a_disabled_vendor_is_refused(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    async with unit_of_work(database_url) as session:
        await session.execute(text("UPDATE vendor SET enabled = false"))
    client = app.test_client()
    await sign_in(client)
    assert (await client.get("/sso/signin", query_string=SSO)).status_code == 400


async def test_the_continuation_is_validated_again(app: Quart, acme: VendorLogin) -> None:
    client = app.test_client()
    csrf = (await page(await client.get("/sign-in", query_string=SSO))).hidden["csrf_token"]
    tampered = {**SSO, "ReturnURL": "https://evil.example/"}
    form = {"csrf_token": csrf, "username": "ada", "password": PASSWORD, **tampered}
    response = await client.post("/sign-in", form=form)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert (await client.get("/sso/signin", query_string=SSO)).status_code == 303


async def test_a_direct_sign_in_lands_on_the_portal_home(app: Quart) -> None:
    client = app.test_client()
    response = await sign_in(client)
    assert (response.status_code, response.headers["Location"]) == (303, "/")
    assert "Hello, Ada" in await (await client.get("/")).get_data(as_text=True)


async def test_sign_in_by_email_in_any_case(app: Quart, acme: VendorLogin) -> None:
    response = await sign_in(app.test_client(), login="ADA@Example.ORG", **SSO)
    assert response.status_code == 303


async def test_the_sign_in_form_needs_its_csrf_token(app: Quart, acme: VendorLogin) -> None:
    client = app.test_client()
    await client.get("/sign-in")
    response = await client.post("/sign-in", form={"username": "ada", "password": PASSWORD})
    assert response.status_code == 403
    assert (await client.get("/sso/signin", query_string=SSO)).status_code == 303


async def test_the_sign_in_page_cannot_be_framed_and_runs_no_inline_script(
    app: Quart, acme: VendorLogin
) -> None:
    response = await app.test_client().get("/sign-in", query_string=SSO)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert all(script.get("src") for script in (await page(response)).scripts)


async def test_a_signed_in_member_going_to_the_sign_in_page_continues(
    app: Quart, acme: VendorLogin
) -> None:
    client = app.test_client()
    await sign_in(client)
    response = await client.get("/sign-in", query_string=SSO)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/sso/signin?vendor=acme")


async def test_vendors_are_looked_up_by_their_exact_key(app: Quart, acme: VendorLogin) -> None:
    response = await app.test_client().get("/sso/signin", query_string={"vendor": "ACME"})
    assert response.status_code == 400


async def test_no_token_for_a_vendor_other_than_the_one_asked(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    async with unit_of_work(database_url) as session:
        assert (await session.get(Vendor, 1)) is not None
    client = app.test_client()
    await sign_in(client)
    token = await token_for(client, **SSO)
    jobs = await add_vendor(database_url, key="careerhub", domain="careerhub.example")
    assert (await redeem(client, jobs, token)).status_code == 400
    assert (await redeem(client, acme, token)).status_code == 200
