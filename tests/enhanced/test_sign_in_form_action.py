"""The shared sign-in page under an OpenID Connect request: its CSP lets the sign-in POST's
redirects reach the vendor's registered redirect URI (browsers apply form-action to them), and
nothing else; without such a request the form may post to the portal only."""

from urllib.parse import urlencode

import pytest
from quart import Quart

from portal import sign_in_methods, vendors
from tests.flows import add_vendor, unit_of_work

AUTHORIZE = "/oidc/authorize?" + urlencode(
    {"client_id": "forum", "response_type": "code", "scope": "openid",
     "redirect_uri": "https://forum.example.com/cb", "code_challenge": "x" * 43,
     "code_challenge_method": "S256"}
)  # fmt: skip


async def add_forum(database_url: str, *, enabled: bool = True) -> None:
    async with unit_of_work(database_url) as s:
        new = vendors.NewVendor("forum", "Forum", None, ["forum.example.com"], protocol="oidc")
        vendor, _ = await vendors.add_vendor(s, new, development=False)
        await sign_in_methods.save(
            s,
            vendor,
            {"redirect_uris": ["https://forum.example.com/cb"]},
            development=False,
            now=vendor.created_at,  # type: ignore[arg-type]
        )
        vendor.enabled = enabled


def form_action(policy: str) -> str:
    return next(d for d in policy.split("; ") if d.startswith("form-action "))


async def test_an_oidc_request_allows_its_redirect_uris_origins(
    app: Quart, database_url: str
) -> None:
    await add_forum(database_url)
    client = app.test_client()
    page = await client.get("/sign-in", query_string={"next": AUTHORIZE})
    assert page.status_code == 200
    allowed = "form-action 'self' https://forum.example.com https://*.forum.example.com"
    assert form_action(page.headers["Content-Security-Policy"]) == allowed
    html = await page.get_data(as_text=True)
    csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"next": AUTHORIZE, "username": "nobody", "password": "wrong", "csrf_token": csrf}
    refused = await client.post("/sign-in", form=form)
    assert refused.status_code == 401  # the form again, posted from this page: the same policy
    assert form_action(refused.headers["Content-Security-Policy"]) == allowed


@pytest.mark.parametrize("enabled", [True, False])
async def test_other_requests_may_post_to_the_portal_only(
    app: Quart, database_url: str, enabled: bool
) -> None:
    await add_forum(database_url, enabled=enabled)
    await add_vendor(database_url)
    client = app.test_client()
    queries = [{}, {"vendor": "acme"}]
    if not enabled:
        queries.append({"next": AUTHORIZE})
    for query in queries:
        page = await client.get("/sign-in", query_string=query)
        assert form_action(page.headers["Content-Security-Policy"]) == "form-action 'self'"
