"""Back-channel logout delivery (portal/logout_notices.py, a kind of the outbox; issue 16),
through the app and a real receiver on loopback that verifies every logout token with the
portal's published keys. The app's own worker is off here (no issuer set): each test runs the
worker's rounds itself, on the test's clock, so retries and their pauses are exact and nothing
sleeps."""

import asyncio
import socket
from collections.abc import Iterator
from contextlib import nullcontext, suppress
from datetime import timedelta
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import func, text
from sqlmodel import col, select

from portal import background, logout_notices
from portal import settings as portal_settings
from portal.audit_models import AuditEvent
from portal.auth import sessions
from portal.auth.models import AuthSession
from portal.mail import sending, smtp
from portal.mail.compose import Composed
from portal.outbox import queue
from portal.outbox.models import OutboxItem
from portal.settings import Settings
from tests.conftest import FakeClock
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
from tests.logout_receiver import Receiver, receiving

ISSUER = "https://sso.example.org"
VENDORS = ("acme", "careerhub", "events")


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[Receiver]:
    found = Receiver(ISSUER, now=lambda: clock().timestamp())
    with receiving(found) as running:
        yield running


@pytest.fixture
async def logins(database_url: str, receiver: Receiver) -> dict[str, VendorLogin]:
    await add_member(database_url)
    return {
        key: await add_vendor(
            database_url,
            key,
            key.title(),
            domain="127.0.0.1",
            backchannel_logout_url=receiver.url(key),
        )
        for key in VENDORS
    }


def policy(settings: Settings, **changes: Any) -> logout_notices.Policy:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "timeout": 2.0,
        "lease": timedelta(seconds=30),
        "retry_for": timedelta(minutes=10),
        "backoff": timedelta(seconds=5),
        "settings": settings,
        "allow_loopback": True,  # the receiver is on loopback, as in development
        **changes,
    }
    return logout_notices.Policy(**values)


async def publish_keys(app: Quart, receiver: Receiver) -> None:
    """What a vendor does: the discovery document names the JWKS URI; the keys come from it."""
    client = app.test_client()
    discovery = await (await client.get("/.well-known/openid-configuration")).get_json()
    path = discovery["jwks_uri"].removeprefix(discovery["issuer"])
    receiver.keys.update(await (await client.get(path)).get_json())


async def visit_and_sign_out(app: Quart, vendors: tuple[str, ...] = VENDORS) -> None:
    client = app.test_client()
    assert (await sign_in(client)).status_code == 303
    for key in vendors:
        await token_for(client, vendor=key)
    home = await (await client.get("/")).get_data(as_text=True)
    out = await client.post("/sign-out", form={"csrf_token": csrf_of(home)})
    assert out.status_code == 303


async def deliver(app: Quart, clock: FakeClock, settings: Settings, **changes: Any) -> int:
    async with logout_notices.opened(policy(settings, **changes)) as kind:
        return await queue.deliver_due(queue.units(app.extensions["db_sessions"]), clock, kind)


async def outbox(database_url: str) -> list[OutboxItem]:
    async with unit_of_work(database_url) as session:
        return list(await session.exec(select(OutboxItem).order_by(col(OutboxItem.id))))


@pytest.fixture
async def signed_out(app: Quart, receiver: Receiver, logins: dict[str, VendorLogin]) -> None:
    await visit_and_sign_out(app)
    await publish_keys(app, receiver)


@pytest.mark.usefixtures("signed_out")
async def test_a_session_that_reached_three_vendors_tells_each_exactly_once(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver, database_url: str
) -> None:
    assert len(await outbox(database_url)) == 3
    assert await deliver(app, clock, settings) == 3
    assert receiver.problems == []
    assert {key: len(receiver.jtis(key)) for key in VENDORS} == dict.fromkeys(VENDORS, 1)
    assert [p.repeat for p in receiver.posts] == [False] * 3
    claims = [receiver.acted[key][0] for key in VENDORS]
    assert {c["sub"] for c in claims} == {"101"}  # the member's iMIS ID
    assert len({c["sid"] for c in claims}) == 1 and len({c["jti"] for c in claims}) == 3
    # Nothing is due any more, and the session cannot end twice.
    assert await deliver(app, clock, settings) == 0
    async with unit_of_work(database_url) as session:
        row = (await session.exec(select(AuthSession))).one()
        assert row.sid == claims[0]["sid"]
        assert await sessions.end(session, row, now=clock(), reason="revoked") is False
    assert len(await outbox(database_url)) == 3 and len(receiver.posts) == 3
    assert all(d.delivered_at is not None and d.attempts == 1 for d in await outbox(database_url))
    async with unit_of_work(database_url) as session:
        query = select(func.count()).where(col(AuditEvent.event) == "logout.notified")
        assert (await session.exec(query)).one() == 3


@pytest.mark.usefixtures("signed_out")
async def test_a_vendor_failing_twice_gets_the_notice_on_the_third_try(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver, database_url: str
) -> None:
    receiver.statuses["acme"] = [500, 503]
    assert await deliver(app, clock, settings) == 3
    assert receiver.jtis("acme") == []
    clock.advance(seconds=4)
    assert await deliver(app, clock, settings) == 0  # its pause is 5 seconds
    clock.advance(seconds=1)
    assert await deliver(app, clock, settings) == 1
    clock.advance(seconds=9)
    assert await deliver(app, clock, settings) == 0  # then 10
    clock.advance(seconds=1)
    assert await deliver(app, clock, settings) == 1
    assert [p.status for p in receiver.posts if p.vendor == "acme"] == [500, 503, 200]
    assert len(receiver.jtis("acme")) == 1 and receiver.problems == []
    acme = [d for d in await outbox(database_url) if d.attempts == 3]
    assert len(acme) == 1 and acme[0].delivered_at is not None and acme[0].last_status == 200


@pytest.mark.usefixtures("signed_out")
async def test_a_4xx_is_final_and_recorded_as_a_failure(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver, database_url: str
) -> None:
    receiver.statuses["acme"] = [401]
    await deliver(app, clock, settings)
    clock.advance(hours=1)
    assert await deliver(app, clock, settings) == 0  # never again
    failed = [d for d in await outbox(database_url) if d.failed_at is not None]
    assert [(d.last_status, d.attempts, d.last_error) for d in failed] == [
        (401, 1, "the vendor answered 401")
    ]
    async with unit_of_work(database_url) as session:
        query = select(AuditEvent).where(col(AuditEvent.outcome) == "failure")
        event = (await session.exec(query)).one()
    assert (event.event, event.vendor_key, event.details["reason"]) == (
        "logout.notified",
        "acme",
        "refused",
    )


async def test_an_unreachable_vendor_is_retried_for_a_bounded_time(
    app: Quart, clock: FakeClock, settings: Settings, database_url: str, receiver: Receiver
) -> None:
    await add_member(database_url)
    nobody = receiver.url_base.rsplit(":", 1)[0] + ":9/logout/gone"  # the discard port: closed
    await add_vendor(
        database_url, "gone", "Gone", domain="127.0.0.1", backchannel_logout_url=nobody
    )
    await visit_and_sign_out(app, ("gone",))
    tries = 0
    for _ in range(20):
        tries += await deliver(app, clock, settings, retry_for=timedelta(minutes=1))
        clock.advance(seconds=5)
    (delivery,) = await outbox(database_url)
    # Pauses of 5, 10, 20 s; a fourth try 35 s in; the next pause (40 s) would pass the minute.
    assert (tries, delivery.attempts, delivery.delivered_at) == (4, 4, None)
    assert delivery.failed_at is not None and delivery.last_status is None
    assert delivery.last_error is not None and "could not connect" in delivery.last_error


@pytest.mark.usefixtures("signed_out")
async def test_two_workers_at_once_send_each_notice_once(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver
) -> None:
    claimed = await asyncio.gather(*(deliver(app, clock, settings) for _ in range(4)))
    assert sorted(claimed) == [0, 0, 0, 3] or sum(claimed) == 3
    assert sorted(p.vendor for p in receiver.posts) == sorted(VENDORS)


@pytest.mark.usefixtures("signed_out")
async def test_a_worker_skips_what_another_is_claiming_without_waiting(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver
) -> None:
    async with (
        logout_notices.opened(policy(settings)) as kind,
        app.extensions["db_sessions"]() as db,
        db.begin(),
    ):
        held = await queue.claim(db, kind, now=clock())
        # Still in the claiming transaction: another worker must neither wait for it nor take
        # the same rows once it commits.
        other = await asyncio.wait_for(deliver(app, clock, settings), timeout=20)
    assert (len(held), other, receiver.posts) == (3, 0, [])


@pytest.mark.usefixtures("signed_out")
async def test_a_worker_that_died_mid_delivery_loses_its_lease_and_cannot_record(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver, database_url: str
) -> None:
    unit = queue.units(app.extensions["db_sessions"])
    async with logout_notices.opened(policy(settings)) as kind:
        async with unit() as db:
            stale = await queue.claim(db, kind, now=clock())
        assert len(stale) == 3
        assert await deliver(app, clock, settings) == 0  # leased: nobody else sends them
        clock.advance(seconds=31)
        assert await deliver(app, clock, settings) == 3  # the lease ran out: another worker does
        late = queue.Outcome("the vendor answered 500", status=500)
        async with unit() as db:
            assert not await queue.settle(db, kind, stale[0], late, now=clock())
    assert all(d.delivered_at is not None for d in await outbox(database_url))
    assert sorted(p.vendor for p in receiver.posts) == sorted(VENDORS)


@pytest.mark.usefixtures("signed_out")
async def test_a_stale_worker_cannot_settle_what_a_newer_holder_is_sending(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver, database_url: str
) -> None:
    """As for mail (tests/mail/test_outbox.py): the first worker's lease runs out, a second
    claims the notices and is still sending when the first settles a failure. Nothing changes:
    the notices are neither claimed a third time nor recorded as failed."""
    unit = queue.units(app.extensions["db_sessions"])
    async with logout_notices.opened(policy(settings)) as kind:
        async with unit() as db:
            stale = await queue.claim(db, kind, now=clock())
        clock.advance(seconds=31)
        async with unit() as db:
            holder = await queue.claim(db, kind, now=clock())
            letters = [await kind.prepare(db, row, clock()) for row in holder]
        failed = queue.Outcome("the vendor answered 500", status=500)
        for row in stale:
            async with unit() as db:
                assert not await queue.settle(db, kind, row, failed, now=clock())
        clock.advance(seconds=10)  # past the stale worker's pause, within the holder's lease
        assert await deliver(app, clock, settings) == 0, "the holder's lease was cleared"
        for row, letter in zip(holder, letters, strict=True):
            outcome = await kind.send(letter)
            async with unit() as db:
                assert await queue.settle(db, kind, row, outcome, now=clock())
    notices = await outbox(database_url)
    assert [(d.attempts, d.failed_at, d.last_error) for d in notices] == [(2, None, None)] * 3
    assert all(d.delivered_at is not None for d in notices)
    assert sorted(p.vendor for p in receiver.posts) == sorted(VENDORS)


async def test_concurrent_ends_of_one_session_queue_one_notice_per_vendor(
    app: Quart, clock: FakeClock, database_url: str, logins: dict[str, VendorLogin]
) -> None:
    client = app.test_client()
    await sign_in(client)
    for key in VENDORS:
        await token_for(client, vendor=key)

    async def end(reason: str) -> bool:
        async with unit_of_work(database_url) as session:
            row = (await session.exec(select(AuthSession))).one()
            return await sessions.end(session, row, now=clock(), reason=reason)

    ended = await asyncio.gather(*(end(reason) for reason in ("sign_out", "revoked") * 4))
    assert sorted(ended) == [False] * 7 + [True]
    assert len(await outbox(database_url)) == 3


async def member_session_id(database_url: str) -> int:
    async with unit_of_work(database_url) as session:
        row = (await session.exec(select(AuthSession))).one()
        assert row.id is not None
        return row.id


async def staff_ends_all(database_url: str, clock: FakeClock, reason: str) -> None:
    async with unit_of_work(database_url) as session:
        member_id = (await session.exec(select(AuthSession))).one().member_id
        assert member_id is not None
        await sessions.end_all(session, "member", member_id, now=clock(), reason=reason)


@pytest.mark.parametrize("ending", ["revoked", "member_disabled", "token_replay", "idle_timeout"])
async def test_every_way_a_session_ends_queues_the_notices(
    app: Quart,
    clock: FakeClock,
    database_url: str,
    logins: dict[str, VendorLogin],
    ending: str,
) -> None:
    client = app.test_client()
    await sign_in(client)
    tokens = [await token_for(client, vendor=key) for key in VENDORS]
    if ending == "token_replay":
        await redeem(client, logins["acme"], tokens[0])
        assert (await redeem(client, logins["acme"], tokens[0])).status_code == 400
    elif ending == "idle_timeout":
        clock.advance(minutes=portal_settings.Settings().session_idle_minutes + 1)
        await client.get("/")  # the timeout is noticed when the session is next used
    else:
        await staff_ends_all(database_url, clock, ending)
    async with unit_of_work(database_url) as session:
        row = await session.get(AuthSession, await member_session_id(database_url))
        assert row is not None and row.end_reason == ending
    assert sorted(d.vendor_id for d in await outbox(database_url)) == [1, 2, 3]


async def test_a_vendor_without_a_back_channel_url_gets_no_notice(
    app: Quart, database_url: str
) -> None:
    await add_member(database_url)
    await add_vendor(database_url)
    await visit_and_sign_out(app, ("acme",))
    assert await outbox(database_url) == []
    async with unit_of_work(database_url) as session:
        count = await session.exec(text("SELECT count(*) FROM sso_token"))  # type: ignore[call-overload]
        assert count.scalar_one() == 1


async def test_another_member_signing_in_on_the_same_browser_signs_the_first_out_everywhere(
    app: Quart, database_url: str, logins: dict[str, VendorLogin]
) -> None:
    """The shared library computer: Grace signs in where Ada never signed out. Ada's portal
    session is replaced, and every site it reached is told, so Grace cannot use Ada's there."""
    await add_member(database_url, imis_id="102", username="grace", email="grace@example.org")
    client = app.test_client()
    await sign_in(client)
    for key in VENDORS:
        await token_for(client, vendor=key)
    # A sign-in form left open in another tab (a signed-in browser is not shown the form).
    form = {"csrf_token": csrf_of(await (await client.get("/")).get_data(as_text=True))}
    form |= {"username": "grace", "password": PASSWORD}
    assert (await client.post("/sign-in", form=form)).status_code == 303
    async with unit_of_work(database_url) as session:
        ada = (await session.exec(select(AuthSession).order_by(col(AuthSession.id)))).first()
    assert ada is not None and ada.end_reason == "replaced"
    assert {d.session_id for d in await outbox(database_url)} == {ada.id}
    assert len(await outbox(database_url)) == 3


async def test_the_same_member_signing_in_again_signs_out_of_nothing(
    app: Quart, database_url: str, logins: dict[str, VendorLogin], clock: FakeClock
) -> None:
    """A fresh sign-in of the same member (OpenID Connect's prompt=login or max_age asks for
    one) keeps the portal session and its sid, so no site is told to sign the member out; the
    session's id changes, and it counts as signed in from now."""
    client = app.test_client()
    await sign_in(client)
    for key in VENDORS:
        await token_for(client, vendor=key)
    async with unit_of_work(database_url) as session:
        before = (await session.exec(select(AuthSession))).one()
    clock.advance(minutes=5)
    form = {"csrf_token": csrf_of(await (await client.get("/")).get_data(as_text=True))}
    form |= {"username": "ada", "password": PASSWORD}
    assert (await client.post("/sign-in", form=form)).status_code == 303
    async with unit_of_work(database_url) as session:
        after = (await session.exec(select(AuthSession))).one()
    assert (after.id, after.sid, after.ended_at) == (before.id, before.sid, None)
    assert after.id_hash != before.id_hash
    assert after.created_at == clock()
    assert await outbox(database_url) == []
    assert (await client.get("/sso/signin", query_string={"vendor": VENDORS[0]})).status_code == 200


@pytest.mark.usefixtures("signed_out")
async def test_another_kind_for_the_same_session_and_vendor_is_kept(
    database_url: str, clock: FakeClock
) -> None:
    """One notice per kind, session and vendor: SAML's SOAP logout to a vendor also reached
    through OpenID Connect is a second row, not one dropped as a duplicate."""
    first = (await outbox(database_url))[0]
    async with unit_of_work(database_url) as session:
        session.add(
            OutboxItem(kind="soap_logout", session_id=first.session_id, vendor_id=first.vendor_id,
                       created_at=clock(), next_attempt_at=clock())
        )  # fmt: skip
    assert len(await outbox(database_url)) == 4


@pytest.mark.usefixtures("signed_out")
async def test_mail_stuck_at_its_server_holds_up_no_logout_notice(
    app: Quart,
    settings: Settings,
    receiver: Receiver,
    database_url: str,
    clock: FakeClock,
    own_port: int,
) -> None:
    """Each kind is delivered by a task of its own: a mail server that accepts the connection
    and never answers (aiosmtplib waits 15 s a step) must not delay the sign-out notices."""
    async with unit_of_work(database_url) as session:
        composed = Composed("Subject", "text\n", "<p>html</p>")
        await sending.enqueue(
            session, purpose="invitation", recipient="m@example.org", composed=composed,
            now=clock(),
        )  # fmt: skip
    with socket.socket() as silent:
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as own_port's holder
        silent.bind(("127.0.0.1", port := own_port))
        silent.listen()
        mail = sending.kind(smtp.Server.from_url(f"smtp://127.0.0.1:{port}"), "p@example.org")
        openers: list[background.Opener] = [
            lambda: nullcontext(mail),
            lambda: logout_notices.opened(policy(settings)),
        ]
        delivering = asyncio.ensure_future(background.keep_delivering(app, openers))
        try:
            for _ in range(80):  # 8 s: well before the mail server's first timeout
                if len(receiver.posts) == len(VENDORS):
                    break
                await asyncio.sleep(0.1)
            assert sorted(p.vendor for p in receiver.posts) == sorted(VENDORS)
        finally:
            delivering.cancel()
            with suppress(asyncio.CancelledError):
                await delivering
