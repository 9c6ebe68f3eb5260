from quart import Quart
from sqlmodel import select

from portal.models import VendorSecret
from tests.admin.browser import Browser, text
from tests.admin.test_vendor_views import audit_events
from tests.flows import Inputs, VendorLogin, add_vendor, unit_of_work


def secret_in(body: str) -> str:
    return body.split('id="new-secret">')[1].split("<")[0]


async def user_service_status(app: Quart, login: VendorLogin) -> int:
    """401 for a wrong secret; a right one gets as far as the token check (400)."""
    response = await app.test_client().get(
        "/api/sso/user", query_string={"token": "x" * 43}, headers=login.basic()
    )
    return response.status_code


async def test_a_new_secret_is_shown_once_and_works(
    app: Quart, admin: Browser, database_url: str
) -> None:
    first = await add_vendor(database_url)
    response = await admin.post("/admin/vendors/acme/secrets", htmx=True)
    body = await text(response)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert "<html" not in body and "Copy this secret now" in body
    second = VendorLogin("acme", secret_in(body))
    assert await user_service_status(app, second) == 400
    assert await user_service_status(app, first) == 400  # both work during the rotation
    assert second.secret not in await text(await admin.get("/admin/vendors/acme"))
    [event] = await audit_events(database_url, "vendor.secret_created")
    assert second.secret not in str(event.details)


async def test_at_most_two_secrets_are_active(admin: Browser, database_url: str) -> None:
    await add_vendor(database_url)
    assert (await admin.post("/admin/vendors/acme/secrets")).status_code == 201
    response = await admin.post("/admin/vendors/acme/secrets", htmx=True)
    assert response.status_code == 422
    assert "revoke one first" in await text(response)
    body = await text(await admin.get("/admin/vendors/acme"))
    assert "2 of 2 active" in body


async def test_a_revoked_secret_stops_working(
    app: Quart, admin: Browser, database_url: str
) -> None:
    login = await add_vendor(database_url)
    async with unit_of_work(database_url) as s:
        secret_id = (await s.exec(select(VendorSecret.id))).one()
    url = f"/admin/vendors/acme/secrets/{secret_id}/revoke"
    page = await text(await admin.get("/admin/vendors/acme"))
    assert f'hx-post="{url}"' in page and "hx-confirm" in page
    assert (await admin.post(url)).status_code == 303
    assert await user_service_status(app, login) == 401
    assert (await admin.post(url)).status_code == 404  # already revoked
    assert "Revoked" in await text(await admin.get("/admin/vendors/acme"))


async def test_last_used_is_shown(app: Quart, admin: Browser, database_url: str) -> None:
    login = await add_vendor(database_url)
    assert "Never" in await text(await admin.get("/admin/vendors/acme"))
    await user_service_status(app, login)
    body = await text(await admin.get("/admin/vendors/acme"))
    assert "just now" in body
    assert Inputs(body).hidden["csrf_token"]
