from tests.admin.browser import Browser, text
from tests.flows import add_vendor, add_member


async def test_smoke(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    await add_member(database_url)
    for path in ["/admin/vendors", "/admin/vendors/new", "/admin/vendors/acme"]:
        r = await admin.get(path)
        body = await text(r)
        assert r.status_code == 200, body
    r = await admin.get("/admin/vendors/acme/preview", htmx=True, member="ada")
    print(await text(r))
    r = await admin.post("/admin/vendors/acme/domains", {"domain": "co.uk"}, htmx=True)
    print(r.status_code, (await text(r))[:3000])
    r = await admin.post("/admin/vendors/acme/secrets", htmx=True)
    print(r.status_code, (await text(r))[:1500])
