import pytest
from quart import Quart

from portal.admin import integration
from portal.settings import Settings
from tests.admin.browser import STAFF_PASSWORD, Browser, add_staff, text
from tests.conftest import FakeClock, running_app
from tests.flows import Inputs, add_vendor


def test_endpoints_are_this_vendors() -> None:
    urls = {e.id: e.url for e in integration.endpoints("https://sso.example.org", "acme")}
    assert urls == {
        "signin": "https://sso.example.org/sso/signin?vendor=acme",
        "signout": "https://sso.example.org/sso/signout?vendor=acme",
        "user": "https://sso.example.org/api/sso/user",
    }


def test_every_sample_posts_the_token_with_basic_auth() -> None:
    samples = {s.id: s.code for s in integration.samples("https://sso.example.org", "acme")}
    assert set(samples) == {"curl", "python", "php", "node"}
    for code in samples.values():
        assert "https://sso.example.org/api/sso/user" in code
        assert "acme" in code and "PORTAL_SECRET" in code
    assert '-u "acme:$PORTAL_SECRET"' in samples["curl"]
    assert 'auth=("acme", os.environ["PORTAL_SECRET"])' in samples["python"]
    assert "CURLOPT_USERPWD" in samples["php"]
    assert "Authorization: `Basic ${credentials}`" in samples["node"]


async def test_the_vendor_page_uses_the_requests_host(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    body = await text(await admin.get("/admin/vendors/acme"))
    assert "http://localhost/sso/signin?vendor=acme" in body
    assert "http://localhost/api/sso/user" in body
    assert "https://acme-learning.com/sso/token" in body


SPOOFED = {"Host": "evil.example"}


async def vendor_page_as_admin(app: Quart, database_url: str, scheme: str = "http") -> str:
    """The vendor page, its requests carrying another Host (as any client can send)."""
    await add_vendor(database_url)
    await add_staff(database_url, "admin@example.org", "admin")
    client = app.test_client()
    form = await client.get("/admin/sign-in", scheme=scheme, headers=SPOOFED)
    csrf = Inputs(await form.get_data(as_text=True)).hidden["csrf_token"]
    signed_in = await client.post(
        "/admin/sign-in",
        form={"csrf_token": csrf, "email": "admin@example.org", "password": STAFF_PASSWORD},
        scheme=scheme,
        headers=SPOOFED,
    )
    assert signed_in.status_code == 303
    page = await client.get("/admin/vendors/acme", scheme=scheme, headers=SPOOFED)
    assert page.status_code == 200
    return await page.get_data(as_text=True)


@pytest.mark.parametrize("env", ["production", "development"])
async def test_the_vendor_page_uses_the_public_url_never_the_requests_host(
    settings: Settings, clock: FakeClock, database_url: str, env: str
) -> None:
    changes = {"env": env, "public_url": "https://sso.example.org"}
    async with running_app(settings, clock, **changes) as app:
        body = await vendor_page_as_admin(app, database_url, "https")
    assert "https://sso.example.org/sso/signin?vendor=acme" in body
    assert "https://sso.example.org/api/sso/user" in body
    assert "evil.example" not in body
