"""Your account: a staff member changes their own password (the current one first); their
other sessions end, this one goes on."""

from quart import Quart

from tests.admin.browser import STAFF_PASSWORD, Browser, text
from tests.admin.test_vendor_views import audit_events

NEW = "a brand new staff passphrase"


async def test_changing_the_password_ends_the_other_sessions_only(
    app: Quart, admin: Browser, database_url: str
) -> None:
    elsewhere = Browser(app)
    assert (await elsewhere.sign_in("admin@example.org")).status_code == 303
    form = {"current_password": STAFF_PASSWORD, "new_password": NEW}
    answer = await admin.post("/admin/account/password", form)
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/account"
    page = await text(await admin.get("/admin/account"))
    assert "Your password is changed. Signed out elsewhere: 1 other session." in page
    assert (await admin.get("/admin/")).status_code == 200
    assert (await elsewhere.get("/admin/")).status_code == 303
    assert (await Browser(app).sign_in("admin@example.org")).status_code == 401
    assert (await Browser(app).sign_in("admin@example.org", NEW)).status_code == 303
    [event] = await audit_events(database_url, "staff.password_changed")
    assert event.staff_email == "admin@example.org" and event.details == {"sessions_ended": 1}
    assert STAFF_PASSWORD not in str(event.details) and NEW not in str(event.details)


async def test_a_wrong_current_password_changes_nothing(
    app: Quart, admin: Browser, database_url: str
) -> None:
    form = {"current_password": "not it at all", "new_password": NEW}
    answer = await admin.post("/admin/account/password", form)
    assert answer.status_code == 422 and "not your current password" in await text(answer)
    assert (await Browser(app).sign_in("admin@example.org")).status_code == 303
    [event] = await audit_events(database_url, "staff.password_changed")
    assert event.outcome == "failure" and event.details == {"reason": "wrong_password"}


async def test_a_weak_new_password_is_refused_like_any_staff_password(admin: Browser) -> None:
    for weak, words in [("short", "at least 8"), ("x" * 1025, "at most 1024")]:
        form = {"current_password": STAFF_PASSWORD, "new_password": weak}
        answer = await admin.post("/admin/account/password", form)
        assert answer.status_code == 422 and words in await text(answer)


async def test_guessing_the_current_password_is_throttled(admin: Browser) -> None:
    form = {"current_password": "guess", "new_password": NEW}
    statuses = [(await admin.post("/admin/account/password", form)).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]


async def test_a_viewer_changes_their_own_password_too(app: Quart, viewer: Browser) -> None:
    page = await text(await viewer.get("/admin/account"))
    assert "Change your password" in page and "Set up two-factor sign-in" in page
    form = {"current_password": STAFF_PASSWORD, "new_password": NEW}
    assert (await viewer.post("/admin/account/password", form)).status_code == 303
    assert (await Browser(app).sign_in("viewer@example.org", NEW)).status_code == 303
