from collections.abc import AsyncIterator

import pytest
from quart import Quart
from sqlalchemy import text as sql
from sqlmodel import select

from portal.models import Staff
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff, text
from tests.admin.test_vendor_views import audit_events
from tests.conftest import FakeClock, running_app
from tests.flows import unit_of_work


async def staff_id(database_url: str, email: str) -> int:
    async with unit_of_work(database_url) as s:
        found = (await s.exec(select(Staff.id).where(Staff.email == email))).one()
        assert found is not None
        return found


async def test_an_added_viewer_can_sign_in_and_only_look(app: Quart, admin: Browser) -> None:
    form = {"email": "Sam@Example.org", "role": "viewer", "password": "sam's passphrase"}
    response = await admin.post("/admin/staff", form, htmx=True)
    assert response.status_code == 200
    assert "sam@example.org can now sign in as viewer." in await text(response)
    sam = Browser(app)
    assert (await sam.sign_in("sam@example.org", "sam's passphrase")).status_code == 303
    assert (await sam.get("/admin/vendors")).status_code == 200
    assert (await sam.get("/admin/staff")).status_code == 403


async def test_a_bad_staff_form_says_which_field(admin: Browser) -> None:
    for change, field in [
        ({"email": "nope"}, "email"),
        ({"role": "owner"}, "role"),
        ({"password": "short"}, "password"),
        ({"email": "admin@example.org"}, "email"),
    ]:
        form = {"email": "sam@example.org", "role": "viewer", "password": "long enough", **change}
        response = await admin.post("/admin/staff", form, htmx=True)
        assert response.status_code == 422, field
        assert f'id="field-{field}-error"' in await text(response), field


async def test_changing_a_role_is_audited(app: Quart, admin: Browser, database_url: str) -> None:
    viewer = await add_staff(database_url, "sam@example.org", "viewer")
    assert (await admin.post(f"/admin/staff/{viewer}/role", {"role": "admin"})).status_code == 303
    [event] = await audit_events(database_url, "staff.role_changed")
    assert event.details["changes"] == {"role": {"before": "viewer", "after": "admin"}}
    sam = Browser(app)
    await sam.sign_in("sam@example.org")
    assert (await sam.get("/admin/staff")).status_code == 200


async def test_disabling_staff_signs_them_out_at_once(
    app: Quart, admin: Browser, database_url: str
) -> None:
    sam_id = await add_staff(database_url, "sam@example.org", "viewer")
    sam = Browser(app)
    await sam.sign_in("sam@example.org")
    assert (await sam.get("/admin/")).status_code == 200
    assert (await admin.post(f"/admin/staff/{sam_id}/disable")).status_code == 303
    assert (await sam.get("/admin/")).status_code == 303
    assert (await Browser(app).sign_in("sam@example.org")).status_code == 401
    [event] = await audit_events(database_url, "staff.disabled")
    assert event.details["sessions_ended"] == 1
    assert (await admin.post(f"/admin/staff/{sam_id}/enable")).status_code == 303
    assert (await Browser(app).sign_in("sam@example.org")).status_code == 303


async def test_an_admin_cannot_change_their_own_account(admin: Browser, database_url: str) -> None:
    me = await staff_id(database_url, "admin@example.org")
    for path, form in [
        (f"/admin/staff/{me}/disable", {}),
        (f"/admin/staff/{me}/role", {"role": "viewer"}),
    ]:
        response = await admin.post(path, form, htmx=True)
        assert response.status_code == 422
        assert "ask another admin" in await text(response)
    assert (await admin.get("/admin/")).status_code == 200


@pytest.fixture
async def strict_app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    async with running_app(settings, clock, throttle_lockout_failures=3) as app:
        yield app


async def test_a_locked_out_admin_is_unlocked_by_another(
    strict_app: Quart, clock: FakeClock, database_url: str
) -> None:
    jo = await add_staff(database_url, "jo@example.org", "admin")
    await add_staff(database_url, "admin@example.org", "admin")
    for _ in range(3):
        clock.advance(hours=1)
        await Browser(strict_app).sign_in("jo@example.org", "wrong password")
    refused = await Browser(strict_app).sign_in("jo@example.org")
    assert refused.status_code == 429 and "unlock" in await text(refused)
    admin = Browser(strict_app)
    await admin.sign_in("admin@example.org")
    listed = await text(await admin.get("/admin/staff"))
    assert "Locked" in listed and f"/admin/staff/{jo}/unlock" in listed
    response = await admin.post(f"/admin/staff/{jo}/unlock", htmx=True)
    assert "jo@example.org can sign in again." in await text(response)
    assert (await Browser(strict_app).sign_in("jo@example.org")).status_code == 303
    [event] = await audit_events(database_url, "staff.unlocked")
    assert event.staff_email == "admin@example.org" and event.details["staff"] == "jo@example.org"


async def test_a_staff_session_ends_when_the_account_is_disabled_by_any_means(
    admin: Browser, database_url: str
) -> None:
    """Not only through the Staff page: a session is refused once its account is disabled."""
    async with unit_of_work(database_url) as s:
        await s.execute(sql("UPDATE staff SET enabled = false"))
    assert (await admin.get("/admin/")).status_code == 303
    async with unit_of_work(database_url) as s:
        reasons = (await s.execute(sql("SELECT end_reason FROM auth_session"))).scalars()
        assert list(reasons) == ["staff_disabled"]
