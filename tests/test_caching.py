"""No answer of the portal is kept by a browser or a proxy, except its static files and the
public OpenID Connect and SAML documents (discovery, the keys, the SAML metadata: a minute):
every route of the URL map, as anonymous, a signed-in member and a signed-in admin, redirects
and errors included. A kept 303 between /sign-in and /sso/signin made Back loop
(ERR_TOO_MANY_REDIRECTS), and a kept dashboard page showed member search results on Back after
staff sign-out."""

import re

import pytest
from quart import Quart
from werkzeug.routing import Rule

from portal import create_app
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff
from tests.admin.test_access import seed
from tests.conftest import TEST_SECRET_KEY
from tests.flows import PASSWORD, Inputs, add_member, add_vendor, sign_in

SSO = {"vendor": "acme", "ReturnURL": "https://acme-learning.com/courses/7", "state": "s"}
SIGN_OUTS = ("/sign-out", "/admin/sign-out", "/oidc/logout/confirm")
# The same for everyone, and well under the 15 minutes a new key is published before it signs.
PUBLIC = {
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/oidc/jwks"),
    ("GET", "/saml/metadata"),
}


def routes() -> list[tuple[str, str]]:
    app = create_app(Settings(env="development", secret_key=TEST_SECRET_KEY))
    rules: list[Rule] = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    found = {
        (method, rule.rule)
        for rule in rules
        for method in rule.methods or ()
        if method in ("GET", "POST")
    }
    # Signing out last, so that it does not end the session the other requests use.
    return sorted(found, key=lambda r: (r[1] in SIGN_OUTS, r[1], r[0]))


ROUTES = routes()


def test_the_walk_covers_the_member_flow_the_dashboard_and_the_api() -> None:
    paths = {path for _, path in ROUTES}
    assert {"/sso/signin", "/sign-in", "/sso/signout", "/", "/admin/members", "/api/sso/user"} <= (
        paths
    )


@pytest.mark.parametrize("who", ["anonymous", "member", "admin"])
async def test_every_answer_is_no_store(who: str, app: Quart, database_url: str) -> None:
    values = await seed(database_url, app)
    browser = Browser(app)
    await browser.open_sign_in()
    if who == "member":
        assert (await sign_in(browser.client, **SSO)).status_code == 303
    if who == "admin":
        await add_staff(database_url, "admin@example.org", "admin")
        assert (await browser.sign_in("admin@example.org")).status_code == 303
    kept = []
    for method, rule in ROUTES:
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], rule)
        if method == "GET":
            response = await browser.client.get(path, query_string=SSO)
        else:
            response = await browser.post(path, SSO)
        expected = "public, max-age=60" if (method, path) in PUBLIC else "no-store"
        if response.headers.get("Cache-Control") != expected:
            kept.append(f"{method} {path}: {response.status_code} {response.headers}")
    assert kept == []


@pytest.mark.parametrize(
    ("method", "path", "signed_in"),
    [
        ("GET", "/sso/signin", False),  # to the sign-in page
        ("GET", "/sign-in", True),  # back to /sso/signin: the pair that looped
        ("POST", "/sign-in", False),  # the sign-in itself
        ("GET", "/sso/signout", True),  # to the vendor's ReturnURL
        ("POST", "/sign-out", True),
        ("GET", "/admin/", False),  # to the staff sign-in page
    ],
)
async def test_redirects_are_no_store(
    app: Quart, database_url: str, method: str, path: str, signed_in: bool
) -> None:
    await add_vendor(database_url)
    await add_member(database_url)
    browser = Browser(app)
    await browser.open_sign_in()
    if signed_in:
        assert (await sign_in(browser.client)).status_code == 303
        home = await browser.client.get("/")  # a new CSRF token after the sign-in
        browser.csrf = Inputs(await home.get_data(as_text=True)).hidden["csrf_token"]
    if method == "GET":
        response = await browser.client.get(path, query_string=SSO)
    else:
        form = {"username": "ada", "password": PASSWORD, **SSO}
        response = await browser.client.post(
            path, form=form, headers={"X-CSRF-Token": browser.csrf}
        )
    assert response.status_code == 303
    assert response.headers["Cache-Control"] == "no-store"


async def test_static_files_keep_their_caching(app: Quart) -> None:
    response = await app.test_client().get("/static/css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


async def test_errors_are_no_store_too(app: Quart) -> None:
    for path in ("/no-such-page", "/admin/members/2147483648", "/admin/members"):
        response = await app.test_client().get(path)
        assert response.status_code in (303, 404), path
        assert response.headers["Cache-Control"] == "no-store", path
