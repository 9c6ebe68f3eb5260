from quart import Quart
from sqlmodel import select

from portal.models import Staff
from tests.admin.browser import Browser, add_staff, text
from tests.admin.test_vendors import audit_events
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
