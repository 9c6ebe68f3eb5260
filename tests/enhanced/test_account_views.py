"""The member's own account page, /account (issue 25): their sites, where they are signed in and
signing those browsers out, changing their password, and downloading what the portal holds."""

import json

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlmodel import col, select

from portal.audit_models import AuditEvent
from portal.auth.models import AuthSession, SignInThrottle
from portal.models import Member
from portal.outbox.models import OutboxItem
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import (
    PASSWORD,
    VendorLogin,
    add_member,
    add_vendor,
    csrf_of,
    redeem,
    sign_in,
    token_for,
    unit_of_work,
)

pytestmark = pytest.mark.usefixtures("ada")
NEW_PASSWORD = "a brand new passphrase"


async def account_html(client: Client) -> str:
    response = await client.get("/account")
    assert response.status_code == 200, response.headers.get("Location")
    return await response.get_data(as_text=True)


async def post(client: Client, path: str, **form: str) -> object:
    csrf = csrf_of(await account_html(client))
    return await client.post(path, form={"csrf_token": csrf, **form})


async def sessions_of(database_url: str, username: str = "ada") -> list[AuthSession]:
    async with unit_of_work(database_url) as s:
        member = (await s.exec(select(Member).where(col(Member.username) == username))).one()
        query = select(AuthSession).where(col(AuthSession.member_id) == member.id)
        return list(await s.exec(query.order_by(col(AuthSession.id))))


async def events(database_url: str, event: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as s:
        query = select(AuditEvent).where(col(AuditEvent.event) == event)
        return list(await s.exec(query.order_by(col(AuditEvent.id))))


async def two_browsers(app: Quart) -> tuple[Client, Client]:
    first, second = app.test_client(), app.test_client()
    await sign_in(first)
    await sign_in(second, address="2001:db8:abcd:12::7")
    return first, second


async def test_the_account_page_asks_for_a_sign_in_and_comes_back(app: Quart) -> None:
    client = app.test_client()
    response = await client.get("/account")
    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in?next=%2Faccount"
    signed_in = await sign_in(client, next="/account")
    assert signed_in.headers["Location"] == "/account"
    home = await (await client.get("/")).get_data(as_text=True)
    assert '<a href="/account" data-testid="your-account">Your account</a>' in home


async def test_it_shows_the_sites_and_every_sign_in_with_this_device_marked(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    first, second = await two_browsers(app)
    await redeem(second, acme, await token_for(second, vendor="acme"))
    html = await account_html(first)
    assert "Ada Lovelace" in html
    assert '<a class="my-sites__link" href="/sso/signin?vendor=acme">' in html
    used = html[html.index('data-testid="sites-used"') :]
    assert "Acme Learning" in used.split("</ul>")[0]
    # Each sign-in's network, never its whole address: no GeoIP, no household pinpointed.
    assert "203.0.113.x" in html and "203.0.113.7" not in html
    assert "2001:db8:abcd::/48" in html and "2001:db8:abcd:12::7" not in html
    assert html.count('data-testid="sign-in"') == 2
    assert html.count('data-testid="this-device"') == 1
    mine, other = await sessions_of(database_url)
    assert f'action="/account/sessions/{other.id}/end"' in html
    assert f'action="/account/sessions/{mine.id}/end"' not in html  # this one: /sign-out


async def test_signing_out_another_browser_ends_it_and_tells_its_vendors(
    app: Quart, database_url: str
) -> None:
    told = "https://acme-learning.com/sso/backchannel-logout"
    acme = await add_vendor(database_url, backchannel_logout_url=told)
    first, second = await two_browsers(app)
    await redeem(second, acme, await token_for(second, vendor="acme"))
    _, other = await sessions_of(database_url)
    ended = await post(first, f"/account/sessions/{other.id}/end")
    assert ended.status_code == 303  # type: ignore[attr-defined]
    assert "That browser is signed out" in await account_html(first)
    assert (await second.get("/account")).status_code == 303  # back to the sign-in page
    _, after = await sessions_of(database_url)
    assert after.ended_at is not None and after.end_reason == "ended_by_member"
    async with unit_of_work(database_url) as s:
        notices = list(await s.exec(select(OutboxItem)))
    # Acme Learning is told, through the outbox, of that session's end (single logout).
    assert [(n.kind, n.session_id) for n in notices] == [("logout", other.id)]
    [event] = await events(database_url, "member.session_ended")
    assert event.details["session"] == other.id
    # A second press (the page was open twice) finds it ended: nothing more happens.
    again = await post(first, f"/account/sessions/{other.id}/end")
    assert again.status_code == 303  # type: ignore[attr-defined]
    assert len(await events(database_url, "member.session_ended")) == 1


async def test_another_members_session_cannot_be_ended(app: Quart, database_url: str) -> None:
    await add_member(database_url, imis_id="102", username="grace", email="grace@example.org")
    ada, grace = app.test_client(), app.test_client()
    await sign_in(ada)
    await sign_in(grace, login="grace")
    [grace_session] = await sessions_of(database_url, "grace")
    refused = await post(ada, f"/account/sessions/{grace_session.id}/end")
    assert refused.status_code == 404  # type: ignore[attr-defined]
    [still] = await sessions_of(database_url, "grace")
    assert still.ended_at is None
    assert (await grace.get("/account")).status_code == 200
    assert await events(database_url, "member.session_ended") == []


async def test_a_post_without_the_csrf_token_is_refused(app: Quart, database_url: str) -> None:
    first, _ = await two_browsers(app)
    _, other = await sessions_of(database_url)
    refused = await first.post(f"/account/sessions/{other.id}/end", form={})
    assert refused.status_code == 403
    assert (await sessions_of(database_url))[1].ended_at is None


async def test_signing_out_everywhere_ends_every_session_this_one_too(
    app: Quart, database_url: str
) -> None:
    first, second = await two_browsers(app)
    response = await post(first, "/account/sign-out-everywhere")
    assert response.headers["Location"] == "/signed-out"  # type: ignore[attr-defined]
    assert all(row.ended_at is not None for row in await sessions_of(database_url))
    assert (await first.get("/account")).status_code == 303
    assert (await second.get("/account")).status_code == 303
    [event] = await events(database_url, "member.signed_out_everywhere")
    assert event.details["sessions_ended"] == 1  # the other; this one ended as a sign-out
    assert len(await events(database_url, "sign_out")) == 1


async def test_a_wrong_current_password_is_refused_and_counted(
    app: Quart, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    wrong = await post(
        client, "/account/password", current_password="not it",
        new_password=NEW_PASSWORD, confirm=NEW_PASSWORD,
    )  # fmt: skip
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    assert "That is not your current password." in await wrong.get_data(as_text=True)  # type: ignore[attr-defined]
    async with unit_of_work(database_url) as s:
        counter = (
            await s.exec(select(SignInThrottle).where(col(SignInThrottle.subject) == "member:ada"))
        ).one()
    assert counter.consecutive_failures == 1  # as a failed sign-in of ada counts
    [event] = await events(database_url, "member.password_changed")
    assert event.outcome == "failure" and event.details["reason"] == "wrong_password"
    assert (await sign_in(app.test_client(), password=NEW_PASSWORD)).status_code == 401


async def test_repeated_wrong_passwords_are_held_back_as_sign_ins_are(
    settings: Settings, clock: FakeClock
) -> None:
    async with running_app(settings, clock, throttle_free_failures=2) as app:
        client = app.test_client()
        await sign_in(client)
        statuses = []
        for _ in range(3):
            response = await post(
                client, "/account/password", current_password="not it",
                new_password=NEW_PASSWORD, confirm=NEW_PASSWORD,
            )  # fmt: skip
            statuses.append(response.status_code)  # type: ignore[attr-defined]
        # The right password now waits too, as the sign-in page's would.
        held = await post(
            client, "/account/password", current_password=PASSWORD,
            new_password=NEW_PASSWORD, confirm=NEW_PASSWORD,
        )  # fmt: skip
        # They count against the account: its sign-in page, from another network, waits too.
        elsewhere = await sign_in(app.test_client(), address="198.51.100.9")
    assert statuses == [422, 422, 429]
    assert held.status_code == 429  # type: ignore[attr-defined]
    assert elsewhere.status_code == 429


async def test_the_new_password_follows_the_reset_pages_rules(app: Quart) -> None:
    client = app.test_client()
    await sign_in(client)
    for new, confirm, words in [
        ("short", "short", "at least 8 characters"),
        (NEW_PASSWORD, "something else", "the two passwords are not the same"),
    ]:
        refused = await post(
            client, "/account/password", current_password=PASSWORD,
            new_password=new, confirm=confirm,
        )  # fmt: skip
        assert refused.status_code == 422  # type: ignore[attr-defined]
        assert words in await refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert (await sign_in(app.test_client())).status_code == 303  # unchanged


async def test_a_new_password_signs_out_the_other_browsers_and_is_audited(
    app: Quart, database_url: str
) -> None:
    first, second = await two_browsers(app)
    changed = await post(
        first, "/account/password", current_password=PASSWORD,
        new_password=NEW_PASSWORD, confirm=NEW_PASSWORD,
    )  # fmt: skip
    assert changed.status_code == 303  # type: ignore[attr-defined]
    assert "Your password is changed. 1 other sign-in ended." in await account_html(first)
    assert (await second.get("/account")).status_code == 303
    assert (await sign_in(app.test_client(), password=NEW_PASSWORD)).status_code == 303
    assert (await sign_in(app.test_client())).status_code == 401
    [event] = await events(database_url, "member.password_changed")
    assert event.outcome == "success" and event.details["sessions_ended"] == 1


async def make_imis_member(database_url: str) -> None:
    async with unit_of_work(database_url) as s:
        ada = (await s.exec(select(Member).where(col(Member.username) == "ada"))).one()
        ada.source, ada.password_hash = "imis", None
        s.add(ada)


@pytest.mark.parametrize("reset_url", [None, "https://imis.example.org/reset"])
async def test_an_imis_member_gets_no_password_form(
    settings: Settings, clock: FakeClock, database_url: str, reset_url: str | None
) -> None:
    async with running_app(settings, clock, imis_password_reset_url=reset_url) as app:
        client = app.test_client()
        await sign_in(client)
        await make_imis_member(database_url)
        html = await account_html(client)
        refused = await post(
            client, "/account/password", current_password=PASSWORD,
            new_password=NEW_PASSWORD, confirm=NEW_PASSWORD,
        )  # fmt: skip
    assert 'data-testid="password-form"' not in html and "current_password" not in html
    if reset_url:
        assert f'<a href="{reset_url}">Change it on the association' in html
    else:
        assert "ask Example Association to change it" in html
    assert refused.status_code == 404  # type: ignore[attr-defined]


async def test_the_download_holds_what_the_portal_keeps_and_never_the_hash(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    client = app.test_client()
    await sign_in(client)
    await redeem(client, acme, await token_for(client, vendor="acme"))
    response = await client.get("/account/data")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.get_data(as_text=True)
    held = json.loads(body)
    assert "password_hash" not in body and "argon2" not in body
    assert held["member"]["username"] == "ada" and held["member"]["paid_through"] == "2030-12-31"
    [session] = held["sessions"]
    assert session["network"] == "203.0.113.x" and session["sites"] == ["Acme Learning"]
    assert [site["site"] for site in held["sites_used"]] == ["Acme Learning"]
    assert held["openid_connect_grants"] == []
    assert {"sign_in", "token.issued"} <= {event["event"] for event in held["audit_events"]}
    [event] = await events(database_url, "member.data_downloaded")
    assert event.username == "ada"
