"""Every /admin route, found in the app's URL map (so a new route cannot be forgotten), against
anonymous, viewer and admin; and every state-changing one without its CSRF token."""

import re
from dataclasses import dataclass

import pytest
from quart import Quart
from sqlmodel import col, select

from portal import create_app
from portal.audit_models import AuditEvent
from portal.auth.models import AuthSession
from portal.models import VendorSecret
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff, enrol_staff, text
from tests.conftest import TEST_SECRET_KEY, FakeClock, running_app
from tests.flows import add_member, add_vendor, csrf_of, sign_in, unit_of_work

# Your account: every staff member changes their own password and two-factor sign-in.
SELF_SERVICE = {
    "/admin/account/password",
    "/admin/account/two-factor",
    "/admin/account/recovery-codes",
}
# What an admin who must set up two-factor sign-in first may open (besides signing in and out).
ENROLMENT = "/admin/account/two-factor"
SIGN_IN_STEPS = {"/admin/sign-in", "/admin/sign-in/code", "/admin/sign-out"}
ADMIN_ONLY_READS = {
    "/admin/vendors/new",
    "/admin/members/new",
    "/admin/members/import",
    "/admin/staff",
    "/admin/members/invitations",
    "/admin/members/invitations/progress",
}
# A route that reads its subject from the query, given one as seed() gives path parameters.
QUERIES = {"/admin/members/invitations/progress": "?at=2026-01-01T00:00:00%2B00:00"}


@dataclass(frozen=True)
class Route:
    method: str
    rule: str

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def admin_routes() -> list[Route]:
    app = create_app(Settings(env="development", secret_key=TEST_SECRET_KEY))
    found = {
        Route(method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    # Signing out last, so that it does not end the session the other requests use.
    return sorted(found, key=lambda r: (r.rule == "/admin/sign-out", r.rule, r.method))


ROUTES = admin_routes()


def test_the_map_has_the_dashboard() -> None:
    rules = {r.rule for r in ROUTES}
    for expected in ("/admin/", "/admin/vendors/<key>", "/admin/audit.csv", "/admin/staff"):
        assert expected in rules
    assert len(ROUTES) > 35


async def seed(database_url: str, app: Quart) -> dict[str, str]:
    await add_vendor(database_url)
    await add_member(database_url)
    other = await add_staff(database_url, "other@example.org", "viewer")
    member_browser = app.test_client()
    assert (await sign_in(member_browser)).status_code == 303
    async with unit_of_work(database_url) as s:
        secret = (await s.exec(select(VendorSecret.id))).one()
        session = (
            await s.exec(select(AuthSession.id).where(col(AuthSession.member_id).is_not(None)))
        ).one()
        event = (await s.exec(select(AuditEvent.id).limit(1))).one()
    return {
        "key": "acme", "domain": "acme-learning.com", "member_id": "1", "secret_id": str(secret),
        "session_id": str(session), "event_id": str(event), "staff_id": str(other),
        "token": "not-a-real-link", "kid": "not-a-published-key",
    }  # fmt: skip


def url(route: Route, values: dict[str, str]) -> str:
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route.rule)
    return path + QUERIES.get(route.rule, "")


def expected(role: str, route: Route) -> str:
    """What each role gets: a status, 'sign-in' (a redirect to it), 'enrol' (a redirect to
    setting up two-factor sign-in) or 'ok' (a change made, or refused for the empty form: 2xx,
    3xx or 422, never 401, 403 or 5xx). `awaiting-code`: the password was right and the
    two-factor code is due; `enrolment-due`: an admin who must set up two-factor sign-in."""
    signed_out = role in ("anonymous", "awaiting-code")
    if route.rule == "/admin/sign-in":  # posted with no credentials
        return {"GET": "200" if signed_out else "303", "POST": "401"}[route.method]
    if route.rule == "/admin/sign-in/code":  # posted with no code
        if role == "awaiting-code":
            return {"GET": "200", "POST": "401"}[route.method]
        return {"GET": "303", "POST": "401"}[route.method]
    if route.rule == "/admin/sign-out":
        return "303"
    if signed_out:
        return "sign-in" if route.method == "GET" else "401"
    if role == "enrolment-due" and route.rule != ENROLMENT:
        return "enrol" if route.method == "GET" else "403"
    if role == "viewer" and route.rule in SELF_SERVICE:
        return "ok"
    if role == "viewer" and (route.method != "GET" or route.rule in ADMIN_ONLY_READS):
        return "403"
    return "200" if route.method == "GET" else "ok"


@pytest.mark.parametrize("role", ["anonymous", "viewer", "admin"])
async def test_every_admin_route_answers_each_role(
    role: str, app: Quart, database_url: str
) -> None:
    values = await seed(database_url, app)
    browser = Browser(app)
    if role == "anonymous":
        await browser.open_sign_in()  # a CSRF token, so that only the missing session counts
    else:
        await add_staff(database_url, f"{role}@example.org", role)
        assert (await browser.sign_in(f"{role}@example.org")).status_code == 303
    assert await wrong_answers(browser, role, values) == []


async def test_a_sign_in_awaiting_its_two_factor_code_opens_no_dashboard_route(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    """A cookie taken between the password and the code is worth what no cookie is."""
    values = await seed(database_url, app)
    await add_staff(database_url, "admin@example.org", "admin")
    await enrol_staff(database_url, "admin@example.org", clock.current)
    browser = Browser(app)
    response = await browser.sign_in("admin@example.org")
    assert response.headers["Location"].startswith("/admin/sign-in/code?")
    browser.csrf = csrf_of(await text(await browser.get("/admin/sign-in/code")))
    assert await wrong_answers(browser, "awaiting-code", values) == []


async def test_an_admin_who_must_set_up_two_factor_opens_only_its_set_up(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    async with running_app(settings, clock, staff_mfa="required") as app:
        values = await seed(database_url, app)
        await add_staff(database_url, "admin@example.org", "admin")
        browser = Browser(app)
        response = await browser.sign_in("admin@example.org")
        assert response.status_code == 303
        browser.csrf = csrf_of(await text(await browser.get(ENROLMENT)))
        assert await wrong_answers(browser, "enrolment-due", values) == []


async def wrong_answers(browser: Browser, role: str, values: dict[str, str]) -> list[str]:
    wrong = []
    for route in ROUTES:
        path = url(route, values)
        if route.method == "GET":
            response = await browser.get(path)
        else:
            response = await browser.post(path)
        got, want = response.status_code, expected(role, route)
        location = response.headers.get("Location", "")
        ok = {
            "ok": got < 400 or got == 422,
            "sign-in": got == 303 and location.startswith("/admin/sign-in?next="),
            "enrol": got == 303 and location == ENROLMENT,
        }.get(want, str(got) == want)
        if role != "anonymous" and want == "ok" and got in (401, 403):
            ok = False
        if not ok:
            wrong.append(f"{route} ({path}): {got}, expected {want}")
    return wrong


async def test_every_state_changing_route_refuses_a_missing_csrf_token(
    app: Quart, database_url: str, admin: Browser
) -> None:
    values = await seed(database_url, app)
    posts = [r for r in ROUTES if r.method == "POST"]
    for route in posts:
        response = await admin.post(url(route, values), {"name": "x"}, csrf=False)
        assert response.status_code == 403, route
        response = await admin.post(url(route, values), {"csrf_token": "forged"}, csrf=False)
        assert response.status_code == 403, route


async def test_a_wrong_csrf_header_is_refused_for_htmx(
    app: Quart, database_url: str, admin: Browser
) -> None:
    await add_vendor(database_url)
    response = await admin.client.post(
        "/admin/vendors/acme/disable", headers={"HX-Request": "true", "X-CSRF-Token": "nope"}
    )
    assert response.status_code == 403
    response = await admin.client.post(
        "/admin/vendors/acme/disable", headers={"HX-Request": "true", "X-CSRF-Token": admin.csrf}
    )
    assert response.status_code == 200


async def test_a_nul_character_anywhere_is_a_400_not_a_500(app: Quart, admin: Browser) -> None:
    assert (await admin.get("/admin/vendors/a%00b")).status_code == 400
    assert (await admin.get("/admin/members", q="ada\x00")).status_code == 400
    assert (await admin.get("/admin/audit", event="\x00")).status_code == 400
    assert (await admin.post("/admin/vendors", {"key": "acme", "name": "A\x00"})).status_code == 400
    anonymous = Browser(app)
    await anonymous.open_sign_in()
    response = await anonymous.post(
        "/admin/sign-in", {"email": "a\x00@example.org", "password": "x"}
    )
    assert response.status_code == 400
