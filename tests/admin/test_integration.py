from portal.admin import integration
from tests.admin.browser import Browser, text
from tests.flows import add_vendor


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
