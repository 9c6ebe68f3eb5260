from tests.admin.browser import Browser, text
from tests.admin.test_vendor_views import audit_events
from tests.flows import add_vendor


async def test_a_domain_is_added_and_removed(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    response = await admin.post(
        "/admin/vendors/acme/domains", {"domain": " Acme.Academy "}, htmx=True
    )
    body = await text(response)
    assert response.status_code == 200
    assert "acme.academy" in body and "acme.academy added." in body
    response = await admin.post("/admin/vendors/acme/domains/acme.academy/remove")
    assert response.status_code == 303
    page = await text(await admin.get("/admin/vendors/acme"))
    assert "acme.academy removed." in page
    assert '<span class="mono">acme.academy</span>' not in page
    assert [
        e.details["domain"] for e in await audit_events(database_url, "vendor.domain_added")
    ] == ["acme.academy"]
    assert len(await audit_events(database_url, "vendor.domain_removed")) == 1


async def test_a_public_suffix_is_refused_with_the_reason_inline(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    for domain, reason in [
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("https://acme.academy/", "Type just the domain"),
        ("", "domain"),
    ]:
        response = await admin.post("/admin/vendors/acme/domains", {"domain": domain}, htmx=True)
        body = await text(response)
        assert response.status_code == 422, domain
        assert 'id="field-domain-error"' in body and reason in body, domain


async def test_the_last_domain_stays(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url, signout_url=None)
    response = await admin.post("/admin/vendors/acme/domains/acme-learning.com/remove", htmx=True)
    assert response.status_code == 422
    assert "at least one domain" in await text(response)


async def test_the_sign_out_url_keeps_its_domain(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)  # sign-out URL on acme-learning.com
    await admin.post("/admin/vendors/acme/domains", {"domain": "acme.academy"})
    response = await admin.post("/admin/vendors/acme/domains/acme-learning.com/remove", htmx=True)
    assert response.status_code == 422
    assert "change the sign-out URL first" in await text(response)


async def test_the_sign_in_start_page_keeps_its_domain(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url, signout_url=None, start_url="https://acme-learning.com/go")
    await admin.post("/admin/vendors/acme/domains", {"domain": "acme.academy"})
    response = await admin.post("/admin/vendors/acme/domains/acme-learning.com/remove", htmx=True)
    assert response.status_code == 422
    assert "change the sign-in start page first" in await text(response)


async def test_a_domain_twice_is_refused(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    response = await admin.post("/admin/vendors/acme/domains", {"domain": "acme-learning.com"})
    assert response.status_code == 422
    assert "already registered" in await text(response)
