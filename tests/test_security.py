import asyncio
from datetime import timedelta

from quart import Quart
from sqlalchemy import text

from portal.security import content_security_policy
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import add_member, page, sign_in, unit_of_work


async def test_a_wrong_csrf_token_is_refused(app: Quart) -> None:
    client = app.test_client()
    await client.get("/sign-in")
    form = {"csrf_token": "forged", "username": "ada", "password": "x"}
    assert (await client.post("/sign-in", form=form)).status_code == 403


async def test_the_csrf_token_may_come_as_a_header(app: Quart, database_url: str) -> None:
    await add_member(database_url)
    client = app.test_client()
    csrf = (await page(await client.get("/sign-in"))).hidden["csrf_token"]
    form = {"username": "ada", "password": "correct horse battery"}
    response = await client.post("/sign-in", form=form, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 303


async def test_a_token_from_another_browser_is_refused(app: Quart) -> None:
    other = (await page(await app.test_client().get("/sign-in"))).hidden["csrf_token"]
    client = app.test_client()
    await client.get("/sign-in")
    form = {"csrf_token": other, "username": "ada", "password": "x"}
    assert (await client.post("/sign-in", form=form)).status_code == 403


async def test_a_csrf_cookie_opened_before_still_expires(app: Quart) -> None:
    """The session interface keeps the cookies it opened (security.SessionCookie), and still
    checks their age on every request."""
    app.permanent_session_lifetime = timedelta(seconds=1)
    client = app.test_client()
    csrf = (await page(await client.get("/sign-in"))).hidden["csrf_token"]
    form = {"csrf_token": csrf, "username": "nobody", "password": "x"}
    assert (await client.post("/sign-in", form=form)).status_code == 401
    await asyncio.sleep(2.2)
    assert (await client.post("/sign-in", form=form)).status_code == 403


async def test_client_addresses_come_from_trusted_proxies_only(
    settings: Settings, clock: FakeClock, database_url: str
) -> None:
    for hops, expected in ((1, "198.51.100.5"), (0, "203.0.113.7")):
        async with running_app(settings, clock, proxy_hops=hops) as app:
            client = app.test_client()
            headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.5"}
            await client.get(
                "/sso/signin",
                query_string={"vendor": "x"},
                headers=headers,
                scope_base={"client": ("203.0.113.7", 1)},
            )
        async with unit_of_work(database_url) as session:
            seen = await session.execute(
                text("SELECT client_address FROM audit_event ORDER BY id DESC LIMIT 1")
            )
            assert seen.scalar_one() == expected


def test_policy_overrides_replace_a_directive() -> None:
    policy = content_security_policy(form_action="https://a.example")
    assert "form-action https://a.example" in policy
    assert policy.count("form-action") == 1


async def test_a_member_can_sign_in_only_with_a_post(app: Quart, database_url: str) -> None:
    await add_member(database_url)
    response = await app.test_client().get(
        "/sign-in", query_string={"username": "ada", "password": "correct horse battery"}
    )
    assert response.status_code == 200  # the form, not a session
    assert "portal_member" not in response.headers.get("Set-Cookie", "")
    assert (await sign_in(app.test_client())).status_code == 303


async def test_every_answer_carries_the_security_headers_once(app: Quart) -> None:
    response = await app.test_client().get("/healthz")
    for name, value in (
        ("Content-Security-Policy", content_security_policy()),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ("Cache-Control", "no-store"),
    ):
        assert response.headers.getlist(name) == [value]
    assert "Strict-Transport-Security" not in response.headers  # development: plain http


async def test_a_view_keeps_the_policy_it_set(app: Quart) -> None:
    response = await app.test_client().get("/signed-out")
    assert response.headers.getlist("Content-Security-Policy") == [
        content_security_policy(frame_src="'none'")
    ]
