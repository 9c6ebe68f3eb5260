"""The demo vendor against a live portal: real HTTP both ways, the vendor's own checks."""

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from portal.demo.data import demo_secret
from portal.demo.vendor import create_vendor_app, display_name
from tests.demo.browser import Browser, Page
from tests.live import ACME, CAREERHUB, LiveDemo

COURSE = "/catalogue/board-governance"


def signed_in_as(page: Page) -> str | None:
    marker = 'data-testid="vendor-member">'
    if marker not in page.text:
        return None
    return page.text.split(marker, 1)[1].split("<", 1)[0]


def portal_sign_in_forms(visitor: Browser, demo: LiveDemo) -> list[str]:
    return [url for url in visitor.visited if url.startswith(f"{demo.portal_url}/sign-in")]


def test_the_sign_in_link_carries_key_deep_link_and_a_state_bound_to_this_browser(
    demo: LiveDemo, visitor: Browser
) -> None:
    acme = demo.vendor_urls[ACME]
    gate = visitor.get(acme + COURSE)
    link = urlsplit(gate.link("Sign in with Example Association"))
    query = {name: values[0] for name, values in parse_qs(link.query).items()}
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{demo.portal_url}/sso/signin"
    assert query["vendor"] == ACME
    assert query["ReturnURL"] == acme + COURSE
    assert query["state"] == visitor.client.cookies[f"{ACME}_sso_state"]
    cookie = gate.response.headers["set-cookie"]
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=None"))


def test_sign_in_lands_on_the_deep_link_showing_the_member_and_its_fields(
    demo: LiveDemo, visitor: Browser
) -> None:
    acme = demo.vendor_urls[ACME]
    portal_form = visitor.get(visitor.get(acme + COURSE).link("Sign in with"))
    assert portal_form.url.startswith(f"{demo.portal_url}/sign-in?")
    assert "Acme Learning" in portal_form.text
    back = visitor.auto_post(
        visitor.submit(portal_form, "/sign-in", username="ada", password="demo-password")
    )
    assert back.url == acme + COURSE
    assert signed_in_as(back) == "Ada Lovelace"
    for field, value in (("ImisId", "101"), ("Email", "ada@example.org"), ("MemberType", "REG")):
        assert f'<th scope="row">{field}</th><td>{value}</td>' in back.text
    assert f"{ACME}_sso_state" not in visitor.client.cookies  # a state works once


def test_a_token_post_with_another_state_is_refused_and_the_token_left_alone(
    demo: LiveDemo, visitor: Browser
) -> None:
    acme = demo.vendor_urls[ACME]
    portal_form = visitor.get(visitor.get(acme + "/").link("Sign in with"))
    token_page = visitor.submit(portal_form, "/sign-in", username="ada", password="demo-password")
    fields = next(form for form in token_page.html.forms if form.id == "token-post").fields

    refused = visitor.post(f"{acme}/sso/token", {**fields, "state": "someone-elses-state"})
    assert refused.response.status_code == 400
    assert "did not start in this browser" in refused.text
    with Browser() as stranger:  # no state cookie at all
        assert stranger.post(f"{acme}/sso/token", fields).response.status_code == 400
    assert signed_in_as(visitor.get(acme + "/")) is None
    # The vendor never redeemed it: the token still works, once.
    answer = httpx.post(
        f"{demo.portal_url}/api/sso/user",
        data={"token": fields["token"]},
        auth=(ACME, demo_secret(ACME)),
    )
    assert answer.status_code == 200
    assert answer.json()["FirstName"] == "Ada"


def test_back_after_signing_in_posts_the_used_state_again_and_goes_on_to_the_page(
    demo: LiveDemo, visitor: Browser
) -> None:
    """Back re-visits the portal, which answers again, for the state already used, with a new
    token: the vendor sends the member on to the page, redeems nothing, and still refuses that
    POST from a browser whose sign-in it was not."""
    acme = demo.vendor_urls[ACME]
    portal_form = visitor.get(visitor.get(acme + COURSE).link("Sign in with"))
    token_page = visitor.submit(portal_form, "/sign-in", username="ada", password="demo-password")
    assert signed_in_as(visitor.auto_post(token_page)) == "Ada Lovelace"

    again_page = visitor.get(token_page.url)  # Back: the portal answers the used state again
    fields = next(form for form in again_page.html.forms if form.id == "token-post").fields
    with Browser() as stranger:
        assert stranger.post(f"{acme}/sso/token", fields).response.status_code == 400
    others = visitor.post(f"{acme}/sso/token", {**fields, "state": "someone-elses-state"})
    assert others.response.status_code == 400
    again = visitor.auto_post(again_page)
    assert again.url == acme + COURSE
    assert [r.status_code for r in again.response.history] == [303]
    assert signed_in_as(again) == "Ada Lovelace"
    assert "no-store" in again.response.headers["cache-control"]  # Back after sign-out asks again
    # Not redeemed: the new token still works, once, and the portal session lives on.
    answer = httpx.post(
        f"{demo.portal_url}/api/sso/user",
        data={"token": fields["token"]},
        auth=(ACME, demo_secret(ACME)),
    )
    assert answer.status_code == 200
    assert "Sign out" in visitor.get(f"{demo.portal_url}/").text


def test_a_replayed_token_is_refused_and_ends_the_portal_session(
    demo: LiveDemo, visitor: Browser
) -> None:
    acme = demo.vendor_urls[ACME]
    portal_form = visitor.get(visitor.get(acme + "/").link("Sign in with"))
    token_page = visitor.submit(portal_form, "/sign-in", username="ada", password="demo-password")
    fields = next(form for form in token_page.html.forms if form.id == "token-post").fields
    signed_in = visitor.auto_post(token_page)
    assert signed_in_as(signed_in) == "Ada Lovelace"

    visitor.submit(signed_in, "/forget")  # anonymous again, with a fresh state for the next try
    state = visitor.client.cookies[f"{ACME}_sso_state"]
    replay = visitor.post(f"{acme}/sso/token", {**fields, "state": state})
    assert replay.response.status_code == 400
    assert "expired or was used already" in replay.text
    assert "Sign in" in visitor.get(f"{demo.portal_url}/").text  # the portal session is over


def test_forgetting_the_vendor_session_then_signing_in_again_asks_no_password(
    demo: LiveDemo, visitor: Browser
) -> None:
    acme = demo.vendor_urls[ACME]
    signed_in = visitor.sign_in(acme + COURSE)
    home = visitor.submit(signed_in, "/forget")
    assert signed_in_as(home) is None
    assert "forgot your session" in home.text
    visitor.visited.clear()

    back = visitor.auto_post(visitor.get(home.link("Sign in with")))
    assert signed_in_as(back) == "Ada Lovelace"
    assert back.url == acme + "/"
    assert portal_sign_in_forms(visitor, demo) == []


def test_the_passive_check_never_shows_a_form(demo: LiveDemo, visitor: Browser) -> None:
    acme, careerhub = demo.vendor_urls[ACME], demo.vendor_urls[CAREERHUB]
    anonymous = visitor.auto_post(visitor.get(f"{acme}/check"))
    assert anonymous.url == f"{acme}/check?sso=login_required"
    assert "You are not signed in at Example Association" in anonymous.text
    assert signed_in_as(anonymous) is None

    visitor.sign_in(careerhub + "/")
    visitor.visited.clear()
    found = visitor.auto_post(visitor.get(f"{acme}/check"))
    assert found.url == f"{acme}/check"
    assert signed_in_as(found) == "Ada Lovelace"
    assert portal_sign_in_forms(visitor, demo) == []


def test_sign_out_ends_both_sessions_and_returns_to_the_vendor(
    demo: LiveDemo, visitor: Browser
) -> None:
    acme = demo.vendor_urls[ACME]
    signed_in = visitor.sign_in(acme + COURSE)
    out = visitor.submit(signed_in, "/sign-out")
    assert out.url == acme + "/"
    assert "You are signed out of Acme Learning and of Example Association" in out.text
    assert signed_in_as(out) is None
    again = visitor.get(out.link("Sign in with"))
    assert again.url.startswith(f"{demo.portal_url}/sign-in?")  # credentials again


def test_another_name_for_the_vendor_host_is_sent_to_its_one_origin(
    demo: LiveDemo, visitor: Browser
) -> None:
    acme = demo.vendor_urls[ACME]
    other_name = acme.replace("localhost", "127.0.0.1")
    answer = visitor.client.get(f"{other_name}{COURSE}?x=1", follow_redirects=False)
    assert answer.status_code == 308
    assert answer.headers["location"] == f"{acme}{COURSE}?x=1"
    assert "set-cookie" not in answer.headers


def test_bad_input_gets_a_clear_4xx(demo: LiveDemo, visitor: Browser) -> None:
    acme = demo.vendor_urls[ACME]
    assert visitor.get(f"{acme}/catalogue/nothing-here").response.status_code == 404
    visitor.get(acme + "/")
    state = visitor.client.cookies[f"{ACME}_sso_state"]
    for fields in ({"state": "ü"}, {"state": state}, {"state": state, "error": "other"}):
        answer = visitor.post(f"{acme}/sso/token", fields)
        assert answer.response.status_code == 400, fields
    assert visitor.get(f"{acme}/sso/token").response.status_code == 405


@pytest.mark.parametrize(
    ("return_url", "lands_on"),
    [
        (
            "{acme}/catalogue/data-for-associations?x=1",
            "{acme}/catalogue/data-for-associations?x=1",
        ),
        ("http://127.0.0.1:1/phish", "{acme}/"),
        ("{acme}\\@evil.example/", "{acme}/"),
        ("{acme}/a\nb", "{acme}/"),
    ],
)
def test_the_token_handler_follows_return_urls_on_its_own_origin_only(
    demo: LiveDemo, visitor: Browser, return_url: str, lands_on: str
) -> None:
    acme = demo.vendor_urls[ACME]
    visitor.get(acme + "/")
    state = visitor.client.cookies[f"{ACME}_sso_state"]
    fields = {"state": state, "error": "login_required", "ReturnURL": return_url.format(acme=acme)}
    answer = visitor.client.post(f"{acme}/sso/token", data=fields, follow_redirects=False)
    assert answer.status_code == 303
    expected = lands_on.format(acme=acme)
    joiner = "&" if "?" in expected else "?"
    assert answer.headers["location"] == f"{expected}{joiner}sso=login_required"


@pytest.mark.parametrize("problem", ["wrong secret", "portal unreachable"])
async def test_a_redemption_the_portal_refuses_is_a_clear_error(
    demo: LiveDemo, problem: str, own_port: int
) -> None:
    site = demo.sites[ACME]
    if problem == "wrong secret":
        site = replace(site, secret="not-the-secret")
    else:
        site = replace(site, portal_url=f"http://127.0.0.1:{own_port}")
    client = create_vendor_app(site).test_client()
    client.set_cookie("localhost", site.state_cookie, "s")
    host = {"host": urlsplit(site.site_url).netloc}
    answer = await client.post("/sso/token", form={"state": "s", "token": "t" * 43}, headers=host)
    assert answer.status_code == 502
    assert "portal" in await answer.get_data(as_text=True)


def test_display_name_uses_the_best_field_the_vendor_gets() -> None:
    assert display_name({"FirstName": "Ada", "LastName": "Lovelace"}) == "Ada Lovelace"
    assert display_name({"FullName": "Ada King", "FirstName": "Ada"}) == "Ada King"
    assert display_name({"email_address": "x", "Email": "ada@example.org"}) == "ada@example.org"
    assert display_name({"ImisId": "101"}) == "101"
    assert display_name({"FirstName": None}) == "member"


def test_no_server_of_the_demo_names_itself(demo: LiveDemo) -> None:
    """The demo's servers are configured as `portal serve` (portal.serve.base_config)."""
    for url in (f"{demo.portal_url}/healthz", *(f"{u}/" for u in demo.vendor_urls.values())):
        answer = httpx.get(url)
        assert answer.status_code == 200, url
        assert "server" not in answer.headers, url
