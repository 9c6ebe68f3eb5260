"""Two-factor sign-in in the dashboard: setting it up from Your account, the sign-in's second
step, recovery codes, an admin resetting or unlocking another staff member, and the setting
that requires it of admins."""

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pyotp
import pytest
from quart import Quart

from portal.audit_details import value_words
from portal.audit_events import describe
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff, cookie, enrol_staff, text
from tests.admin.test_staff_views import staff_id
from tests.admin.test_vendor_views import audit_events
from tests.conftest import FakeClock, running_app
from tests.flows import Inputs, csrf_of

SECRET = re.compile(r'data-testid="totp-secret">([A-Z2-7 ]+)<')
CODES = re.compile(r"\b[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}\b")


async def enrol_in_the_browser(browser: Browser, clock: FakeClock) -> tuple[str, list[str]]:
    page = await text(await browser.get("/admin/account/two-factor"))
    assert "<svg" in page and "otpauth" not in page  # the QR code is drawn, not linked
    found = SECRET.search(page)
    assert found is not None
    secret = found.group(1).replace(" ", "")
    wrong = await browser.post("/admin/account/two-factor", {"code": "000000"})
    assert wrong.status_code == 422 and "not right" in await text(wrong)
    code = pyotp.TOTP(secret).at(clock.current)
    shown = await text(await browser.post("/admin/account/two-factor", {"code": code}))
    codes = CODES.findall(shown)
    assert len(set(codes)) == 10
    return secret, codes


async def password_step(app: Quart, email: str = "admin@example.org") -> Browser:
    browser = Browser(app)
    await browser.open_sign_in()
    answer = await browser.post("/admin/sign-in", {"email": email, "password": PASSWORD})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/admin/sign-in/code?next=%2Fadmin%2F"
    browser.csrf = csrf_of(await text(await browser.get(answer.headers["Location"])))
    return browser


PASSWORD = "staff password 1"


async def code_step(browser: Browser, code: str) -> int:
    """The code typed; after a success, the page it leads to is `browser.landing`."""
    answer = await browser.post("/admin/sign-in/code", {"code": code, "next": "/admin/"})
    if answer.status_code == 303:
        browser.landing = await text(await browser.client.get(answer.headers["Location"]))
        browser.csrf = Inputs(browser.landing).hidden["csrf_token"]
    return answer.status_code


async def test_setting_it_up_then_signing_in_with_a_code_and_a_recovery_code(
    app: Quart, admin: Browser, clock: FakeClock, database_url: str
) -> None:
    secret, codes = await enrol_in_the_browser(admin, clock)
    account = await text(await admin.get("/admin/account"))
    assert "10 of 10" in account and "Make new recovery codes" in account
    [event] = await audit_events(database_url, "staff.mfa_enrolled")
    assert event.staff_email == "admin@example.org"

    clock.advance(seconds=30)  # the code of the enrolment's step is spent
    browser = await password_step(app)
    assert await code_step(browser, pyotp.TOTP(secret).at(clock.current)) == 303
    assert (await browser.get("/admin/")).status_code == 200

    other = await password_step(app)
    assert await code_step(other, codes[0]) == 303
    assert "You signed in with a recovery code; 9 left." in other.landing
    again = await password_step(app)
    assert await code_step(again, codes[0]) == 401
    outcomes = [e.outcome for e in await audit_events(database_url, "staff.second_factor")]
    assert outcomes == ["success", "success", "failure"]
    sign_ins = await audit_events(database_url, "staff.sign_in")
    assert [e.details for e in sign_ins] == [{}] + [{"second_factor": "due"}] * 3
    assert value_words("second_factor", "due") == "asked for next"


async def test_the_cookie_of_a_sign_in_awaiting_its_code_opens_no_page(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    await add_staff(database_url, "admin@example.org", "admin")
    secret, _ = await enrol_staff(
        database_url, "admin@example.org", clock.current - timedelta(minutes=5)
    )
    victim = await password_step(app)
    thief = Browser(app)
    await thief.open_sign_in()
    thief.client.set_cookie("localhost", "portal_staff", cookie(victim.client, "portal_staff"))
    answer = await thief.get("/admin/")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/admin/sign-in")
    assert (await thief.get("/admin/account")).status_code == 303
    # Once the victim types the code, the session has a new id: the copy stays worthless.
    assert await code_step(victim, pyotp.TOTP(secret).at(clock.current)) == 303
    assert cookie(victim.client, "portal_staff") != cookie(thief.client, "portal_staff")
    assert (await thief.get("/admin/")).status_code == 303
    assert (await victim.get("/admin/")).status_code == 200


async def test_the_code_step_waits_five_minutes_at_most(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    await add_staff(database_url, "admin@example.org", "admin")
    secret, _ = await enrol_staff(database_url, "admin@example.org", clock.current)
    browser = await password_step(app)
    clock.advance(minutes=5, seconds=1)
    assert await code_step(browser, pyotp.TOTP(secret).at(clock.current)) == 401
    assert (await browser.get("/admin/sign-in/code")).status_code == 303


async def test_wrong_codes_lock_the_account_until_an_admin_unlocks_it(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    async with running_app(settings, clock, throttle_lockout_failures=3) as app:
        jo = await add_staff(database_url, "jo@example.org", "admin")
        secret, _ = await enrol_staff(database_url, "jo@example.org", clock.current)
        for _ in range(3):
            clock.advance(hours=1)
            assert await code_step(await password_step(app, "jo@example.org"), "123456") == 401
        clock.advance(hours=1)
        browser = await password_step(app, "jo@example.org")
        assert await code_step(browser, pyotp.TOTP(secret).at(clock.current)) == 429
        await add_staff(database_url, "admin@example.org", "admin")
        admin = Browser(app)
        await admin.sign_in("admin@example.org")
        listed = await text(await admin.get("/admin/staff"))
        assert "Locked" in listed and f"/admin/staff/{jo}/unlock" in listed
        await admin.post(f"/admin/staff/{jo}/unlock")
        browser = await password_step(app, "jo@example.org")
        assert await code_step(browser, pyotp.TOTP(secret).at(clock.current)) == 303
        refusals = await audit_events(database_url, "staff.second_factor")
        reasons = [e.details.get("reason") for e in refusals]
        assert reasons == ["wrong_code"] * 3 + ["throttled", None]


def test_a_refused_code_reads_as_a_problem_with_advice() -> None:
    described = describe("staff.second_factor", "failure", {"reason": "wrong_code"}, None)
    assert described.summary == "Staff two-factor code refused"
    assert described.kind == "problem" and "change it" in (described.advice or "")
    assert value_words("method", "recovery_code") == "recovery code"


async def test_an_admin_resets_another_staff_members_two_factor(
    app: Quart, admin: Browser, database_url: str, clock: FakeClock
) -> None:
    sam = await add_staff(database_url, "sam@example.org", "viewer")
    await enrol_staff(database_url, "sam@example.org", clock.current)
    listed = await text(await admin.get("/admin/staff"))
    assert f"/admin/staff/{sam}/reset-two-factor" in listed
    assert re.search(rf'data-testid="two-factor-{sam}"><span[^>]*>On<', listed)
    answer = await admin.post(f"/admin/staff/{sam}/reset-two-factor", htmx=True)
    assert "sam@example.org signs in without a code" in await text(answer)
    [event] = await audit_events(database_url, "staff.mfa_reset")
    assert event.staff_email == "admin@example.org"
    assert event.details == {"staff": "sam@example.org", "was_on": True}
    sam_browser = Browser(app)
    assert (await sam_browser.sign_in("sam@example.org")).headers["Location"] == "/admin/"


async def test_an_admin_cannot_reset_their_own_two_factor_from_the_staff_page(
    admin: Browser, database_url: str, clock: FakeClock
) -> None:
    await enrol_staff(database_url, "admin@example.org", clock.current)
    me = await staff_id(database_url, "admin@example.org")
    answer = await admin.post(f"/admin/staff/{me}/reset-two-factor", htmx=True)
    assert answer.status_code == 422 and "ask another admin" in await text(answer)
    assert await audit_events(database_url, "staff.mfa_reset") == []


async def test_new_recovery_codes_replace_the_old_ones(
    app: Quart, admin: Browser, clock: FakeClock, database_url: str
) -> None:
    _, old = await enrol_in_the_browser(admin, clock)
    shown = await text(await admin.post("/admin/account/recovery-codes"))
    new = CODES.findall(shown)
    assert len(set(new)) == 10 and not set(new) & set(old)
    browser = await password_step(app)
    assert await code_step(browser, old[0]) == 401
    assert await code_step(browser, new[0]) == 303
    assert len(await audit_events(database_url, "staff.recovery_codes_created")) == 1


async def test_the_recovery_codes_page_can_print_just_the_codes(
    admin: Browser, clock: FakeClock
) -> None:
    await enrol_in_the_browser(admin, clock)
    shown = await text(await admin.post("/admin/account/recovery-codes"))
    assert "Print them" in shown
    button = re.search(r"<button[^>]*data-print[^>]*>(.*?)</button>", shown, re.S)
    assert button is not None and "Print" in button.group(1)
    # The CSP allows no inline script: the button works from a static file.
    assert '<script src="/static/js/print.js' in shown and "onclick" not in shown
    script = await text(await admin.client.get("/static/js/print.js"))
    assert "window.print()" in script and "data-print" in script
    # Printed, the page shows only what is inside .print-only: the codes.
    printable = shown.split('class="print-only"')[1].split("</figure>")[0]
    assert len(set(CODES.findall(printable))) == 10
    css = await text(await admin.client.get("/static/css/portal.css"))
    assert "@media print" in css and ".print-only" in css.split("@media print")[1]


async def test_recovery_codes_need_two_factor_on(admin: Browser) -> None:
    answer = await admin.post("/admin/account/recovery-codes")
    assert answer.status_code == 422 and "Set up two-factor sign-in first" in await text(answer)


@pytest.fixture
async def required_app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    async with running_app(settings, clock, staff_mfa="required") as app:
        yield app


async def test_a_required_admin_sets_it_up_before_anything_else(
    required_app: Quart, database_url: str, clock: FakeClock
) -> None:
    await add_staff(database_url, "admin@example.org", "admin")
    admin = Browser(required_app)
    answer = await admin.sign_in("admin@example.org")
    assert answer.status_code == 303
    for path in ("/admin/", "/admin/vendors", "/admin/account", "/admin/staff"):
        refused = await admin.get(path)
        assert refused.headers["Location"] == "/admin/account/two-factor", path
    assert (await admin.post("/admin/vendors", {"key": "x"})).status_code == 403
    page = await text(await admin.get("/admin/account/two-factor"))
    assert "Admins must set this up before using the dashboard" in page
    await enrol_in_the_browser(admin, clock)
    assert (await admin.get("/admin/")).status_code == 200


async def test_required_is_for_admins_viewers_may_choose(
    required_app: Quart, database_url: str
) -> None:
    await add_staff(database_url, "viewer@example.org", "viewer")
    viewer = Browser(required_app)
    assert (await viewer.sign_in("viewer@example.org")).headers["Location"] == "/admin/"
    assert (await viewer.get("/admin/")).status_code == 200
