"""A member's forgotten password through the member pages (ASGI test client, real Postgres):
the same answer for every name, a single-use link in the outbox, a new password that signs the
member in where they were going, and every way the link is voided."""

import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlmodel import col, select

from portal import members
from portal.audit_models import AuditEvent
from portal.auth import throttle
from portal.auth.models import AuthSession
from portal.outbox.models import OutboxItem
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import PASSWORD, VendorLogin, add_member, csrf_of, sign_in, unit_of_work

NEW_PASSWORD = "a brand new passphrase"
POLICY = throttle.Policy.from_settings(Settings(env="development"))
SSO = {"vendor": "acme", "ReturnURL": "https://acme-learning.com/courses"}
LINK = re.compile(r"https?://[^\s]+/password/reset/([A-Za-z0-9_-]+)")
MAIL = {"smtp_url": "smtp://127.0.0.1:9", "mail_from": "p@x.org"}


@pytest.fixture
async def app(settings, clock: FakeClock) -> AsyncIterator[Quart]:  # type: ignore[no-untyped-def]
    # A server is configured (the sign-in page offers the link); no worker reaches it in these
    # tests, so the links are read from the outbox.
    async with running_app(settings, clock, **MAIL) as app:
        yield app


async def ask(client: Client, login: str, **form: str) -> tuple[int, str]:
    page = await client.get("/password/forgot", query_string=form or None)
    data = {"csrf_token": csrf_of(await page.get_data(as_text=True)), "username": login, **form}
    response = await client.post("/password/forgot", form=data)
    return response.status_code, await response.get_data(as_text=True)


async def outbox(database_url: str) -> list[dict[str, Any]]:
    """The payloads of the mail in the outbox, oldest first."""
    async with unit_of_work(database_url) as db:
        query = select(OutboxItem).where(OutboxItem.kind == "mail").order_by(col(OutboxItem.id))
        return [row.payload for row in await db.exec(query)]


async def last_token(database_url: str) -> str:
    found = LINK.search((await outbox(database_url))[-1]["text"])
    assert found, "no link in the message"
    return found.group(1)


async def choose(
    client: Client, token: str, password: str = NEW_PASSWORD, confirm: str | None = None
):  # type: ignore[no-untyped-def]
    page = await client.get(f"/password/reset/{token}")
    html = await page.get_data(as_text=True)
    if page.status_code != 200:
        return page
    form = {"csrf_token": csrf_of(html), "password": password, "confirm": confirm or password}
    return await client.post(f"/password/reset/{token}", form=form)


async def events(database_url: str, name: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as db:
        query = select(AuditEvent).where(AuditEvent.event == name).order_by(col(AuditEvent.id))
        return list((await db.exec(query)).all())


@pytest.mark.usefixtures("ada")
async def test_the_sign_in_page_offers_the_link_carrying_the_vendors_request(
    app: Quart, acme: VendorLogin
) -> None:
    html = await (await app.test_client().get("/sign-in", query_string=SSO)).get_data(as_text=True)
    link = re.search(r'href="(/password/forgot[^"]*)" data-testid="forgot-password"', html)
    assert link, "no Forgot your password? link"
    assert "next=/sso/signin%3Fvendor%3Dacme" in link.group(1)
    assert 'data-testid="sign-in-help"' in html  # "Trouble signing in?" stays


async def test_without_a_mail_server_the_link_is_not_offered(
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with running_app(settings, clock) as app:
        html = await (await app.test_client().get("/sign-in")).get_data(as_text=True)
    assert "forgot-password" not in html


async def test_forgot_reset_and_land_on_the_vendor_signed_in(
    app: Quart, database_url: str, acme: VendorLogin
) -> None:
    await add_member(database_url)
    elsewhere = app.test_client()  # the member's other browser, signed in
    assert (await sign_in(elsewhere)).status_code == 303
    browser = app.test_client()
    sign_in_page = await browser.get("/sign-in", query_string=SSO)
    forgot = re.search(r'href="(/password/forgot[^"]*)"', await sign_in_page.get_data(as_text=True))
    assert forgot
    pending = forgot.group(1).split("next=", 1)[1]
    status, html = await ask(browser, "ada", next=_unquote(pending))
    assert status == 200 and "we have sent a link" in html
    [message] = await outbox(database_url)
    assert message["recipient"] == "ada@example.org"
    assert "Example Association" in message["text"] and "Example Association" in message["html"]
    token = await last_token(database_url)

    mismatch = await choose(browser, token, confirm="something else entirely")
    assert mismatch.status_code == 422
    short = await choose(browser, token, password="short")
    assert short.status_code == 422 and "at least 8" in await short.get_data(as_text=True)

    done = await choose(browser, token)
    assert done.status_code == 303
    assert done.headers["Location"].startswith("/sso/signin?")
    landing = await browser.get(done.headers["Location"])
    assert landing.status_code == 200 and 'name="token"' in await landing.get_data(as_text=True)

    assert (await elsewhere.get("/")).status_code == 200
    async with unit_of_work(database_url) as db:
        live = (await db.exec(select(AuthSession).where(col(AuthSession.ended_at).is_(None)))).all()
    assert len(live) == 1, "the member's other sessions end"
    [event] = await events(database_url, "password.reset")
    assert event.member_id is not None and event.details["sessions_ended"] == 1
    assert (await sign_in(app.test_client(), password=PASSWORD)).status_code == 401
    assert (await sign_in(app.test_client(), password=NEW_PASSWORD)).status_code == 303


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text.replace("&amp;", "&"))


async def test_every_name_gets_the_same_answer(app: Quart, database_url: str) -> None:
    await add_member(database_url)
    await add_member(database_url, imis_id="102", username="nomail", email=None)
    await add_member(database_url, imis_id="103", username="off", email="off@example.org")
    async with unit_of_work(database_url) as db:
        off = await members.find_member(db, "off")
        assert off is not None
        off.enabled = False
        db.add(off)
    client = app.test_client()
    logins = ("ada", "ada@example.org", "nobody", "nobody@example.org", "nomail", "off")
    answers = {login: await ask(client, login) for login in logins}
    assert len({answer for answer in answers.values()}) == 1, answers.keys()
    assert {status for status, _ in answers.values()} == {200}
    assert [m["recipient"] for m in await outbox(database_url)] == ["ada@example.org"] * 2
    failures = await events(database_url, "password.reset_requested")
    reasons = [e.details.get("reason") for e in failures if e.outcome == "failure"]
    assert reasons == ["unknown_user", "unknown_user", "no_email", "disabled"]


async def test_unknown_names_cost_what_known_names_cost(
    settings: Settings, clock: FakeClock, durable_database_url: str
) -> None:
    """On a database whose commits cost what they cost in production: with the suite's fsync
    off, the known name's extra writes would weigh more than they do there. Measured up to
    three times, with other names (each name's requests are limited): a busy machine (CI's two
    cores) can slow one series for a while, where a real difference shows in every series."""
    known_names = ("ada", "bea", "cyd")
    for number, name in enumerate(known_names):
        await add_member(
            durable_database_url, imis_id=f"70{number}", username=name, email=f"{name}@example.org"
        )
    durable = settings.model_copy(update={"database_url": durable_database_url})
    measured = []
    async with running_app(durable, clock, **MAIL) as app:
        for known_name in known_names:
            unknown_name = f"nobody-{known_name}"
            timings: dict[str, list[float]] = {known_name: [], unknown_name: []}
            await time_forgot_password_requests(app, timings)
            known, unknown = min(timings[known_name]), min(timings[unknown_name])
            measured.append((known, unknown))
            if 0.5 < unknown / known < 2:
                return
    raise AssertionError(measured)


async def time_forgot_password_requests(app: Quart, timings: dict[str, list[float]]) -> None:
    for _ in range(4):  # below the throttle's free requests
        for login, kept in timings.items():
            client = app.test_client()
            page = await client.get("/password/forgot")
            form = {"csrf_token": csrf_of(await page.get_data(as_text=True)), "username": login}
            started = time.perf_counter()
            await client.post("/password/forgot", form=form)
            kept.append(time.perf_counter() - started)


@pytest.mark.usefixtures("ada")
async def test_asking_again_and_again_is_throttled_alike_for_any_name(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    for login in ("ada", "nobody"):
        client = app.test_client()
        statuses = [(await ask(client, login))[0] for _ in range(6)]
        assert statuses == [200] * 5 + [429], login
    assert len(await outbox(database_url)) == 5, "a held-back request sends nothing"
    async with unit_of_work(database_url) as db:  # no sign-in is refused for it
        assert await throttle.count_refusing_accounts(db, now=clock(), policy=POLICY) == 0


@pytest.mark.usefixtures("ada")
async def test_a_link_works_once(app: Quart, database_url: str) -> None:
    await ask(app.test_client(), "ada")
    token = await last_token(database_url)
    assert (await app.test_client().get(f"/password/reset/{token}")).status_code == 200
    assert (await app.test_client().get(f"/password/reset/{token}")).status_code == 200  # looking
    assert (await choose(app.test_client(), token)).status_code == 303
    again = await choose(app.test_client(), token, password="yet another passphrase")
    assert again.status_code == 410
    assert (await sign_in(app.test_client(), password=NEW_PASSWORD)).status_code == 303


@pytest.mark.usefixtures("ada")
async def test_a_newer_link_voids_the_older(app: Quart, database_url: str) -> None:
    await ask(app.test_client(), "ada")
    older = await last_token(database_url)
    await ask(app.test_client(), "ada@example.org")
    newer = await last_token(database_url)
    assert (await choose(app.test_client(), older)).status_code == 410
    assert (await choose(app.test_client(), newer)).status_code == 303


@pytest.mark.usefixtures("ada")
async def test_a_password_change_voids_the_link(
    app: Quart, database_url: str, clock: FakeClock
) -> None:
    await ask(app.test_client(), "ada")
    token = await last_token(database_url)
    async with unit_of_work(database_url) as db:
        ada = await members.find_member(db, "ada")
        assert ada is not None
        await members.set_password(db, ada, "set by staff meanwhile", now=clock())
    assert (await choose(app.test_client(), token)).status_code == 410


@pytest.mark.usefixtures("ada")
async def test_a_link_lasts_thirty_minutes(app: Quart, database_url: str, clock: FakeClock) -> None:
    await ask(app.test_client(), "ada")
    token = await last_token(database_url)
    clock.advance(minutes=29, seconds=59)
    assert (await app.test_client().get(f"/password/reset/{token}")).status_code == 200
    clock.advance(seconds=1)
    assert (await choose(app.test_client(), token)).status_code == 410


async def test_a_made_up_link_is_refused(app: Quart) -> None:
    response = await app.test_client().get("/password/reset/not-a-real-link")
    assert response.status_code == 410
    assert "can no longer be used" in await response.get_data(as_text=True)


async def test_imis_members_go_to_the_imis_reset_page(settings, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    reset_url = "https://imis.example.org/reset"
    changes = {
        "directory": "imis",
        "imis_url": "https://imis.example.org",
        "imis_password_reset_url": reset_url,
    }
    async with running_app(settings, clock, **changes) as app:
        client = app.test_client()
        html = await (await client.get("/sign-in")).get_data(as_text=True)
        assert f'href="{reset_url}" data-testid="forgot-password"' in html
        forgot = await client.get("/password/forgot")
        assert forgot.status_code == 303 and forgot.headers["Location"] == reset_url
        data = {"csrf_token": csrf_of(html), "username": "ada"}
        assert (await client.post("/password/forgot", form=data)).status_code == 404


@pytest.mark.usefixtures("ada")
async def test_no_log_line_holds_a_link(
    app: Quart, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await ask(app.test_client(), "ada")
    token = await last_token(database_url)
    with caplog.at_level(logging.DEBUG):
        await choose(app.test_client(), token)
        await app.test_client().get(f"/password/reset/{token}")
    assert caplog.records, "the requests were logged"
    assert not [r for r in caplog.records if token in str(r.__dict__)]
