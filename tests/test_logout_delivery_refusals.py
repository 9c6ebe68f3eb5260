"""Notices the portal does not send (issue 21), each final and recorded in words for staff.

Item 7: delivery calls public addresses only, through the system's real resolver: a vendor's
notification address whose name now resolves to loopback — as DNS changed after registration
would leave it, so written straight into the database — is refused in production, and nothing
reaches the receiver listening there; in development (the demo vendors live on localhost) it is
delivered. Item 19: a notice written while no notice was sent (no issuer) is sent later only
within the retry time after the sign-out."""

from collections.abc import AsyncIterator

import pytest
from quart import Quart
from sqlalchemy import text
from sqlmodel import col, select

from portal import logout_notices
from portal.audit_models import AuditEvent
from portal.outbox import queue
from portal.settings import Settings
from tests.conftest import FakeClock
from tests.flows import add_member, add_vendor, unit_of_work
from tests.logout_receiver import Receiver, receiving
from tests.test_logout_delivery import ISSUER, outbox, publish_keys, visit_and_sign_out

REFUSED = (
    "the address localhost resolves to the portal's own computer ({}); "
    "the portal only calls public addresses"
)


@pytest.fixture
async def receiver(app: Quart, clock: FakeClock, database_url: str) -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1, and a vendor whose notification address names it `localhost`;
    the member signed out after reaching that vendor."""
    with receiving(Receiver(ISSUER, now=lambda: clock().timestamp())) as running:
        await add_member(database_url)
        await add_vendor(database_url, domain="127.0.0.1")
        by_name = running.url("acme").replace("127.0.0.1", "localhost")
        async with unit_of_work(database_url) as session:
            await session.exec(  # type: ignore[call-overload]
                text("UPDATE vendor SET backchannel_logout_url = :url").bindparams(url=by_name)
            )
        await visit_and_sign_out(app, ("acme",))
        await publish_keys(app, running)
        yield running


async def deliver(app: Quart, clock: FakeClock, settings: Settings, env: str) -> int:
    """One round of the worker, with the policy and client the app would use in `env`."""
    policy = logout_notices.Policy.from_settings(
        settings.model_copy(update={"env": env, "issuer": ISSUER})
    )
    assert policy is not None
    async with logout_notices.opened(policy) as kind:
        return await queue.deliver_due(queue.units(app.extensions["db_sessions"]), clock, kind)


async def test_a_name_resolving_to_loopback_is_refused_in_production_with_the_reason(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver, database_url: str
) -> None:
    assert await deliver(app, clock, settings, "production") == 1
    assert receiver.posts == [] and receiver.hosts == []  # nothing was sent
    (delivery,) = await outbox(database_url)
    assert delivery.failed_at is not None and delivery.last_status is None
    loopback = ("127.0.0.1", "::1")
    assert delivery.last_error in {REFUSED.format(address) for address in loopback}
    clock.advance(hours=1)
    assert await deliver(app, clock, settings, "production") == 0  # final: never retried
    async with unit_of_work(database_url) as session:
        query = select(AuditEvent).where(col(AuditEvent.event) == "logout.notified")
        event = (await session.exec(query)).one()
    assert (event.outcome, event.vendor_key) == ("failure", "acme")
    assert event.details["reason"] == "not_public"
    assert event.details["problem"] == delivery.last_error


async def test_a_name_resolving_to_loopback_is_delivered_in_development(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver, database_url: str
) -> None:
    assert await deliver(app, clock, settings, "development") == 1
    assert receiver.problems == [] and len(receiver.jtis("acme")) == 1
    # Connected to the address it checked, and still asked for the vendor's host by name.
    port = receiver.url_base.rsplit(":", 1)[1]
    assert receiver.hosts == [f"localhost:{port}"]
    (delivery,) = await outbox(database_url)
    assert delivery.delivered_at is not None


async def test_a_notice_queued_while_none_were_sent_is_not_sent_after_the_retry_time(
    app: Quart, clock: FakeClock, settings: Settings, receiver: Receiver, database_url: str
) -> None:
    """The test app has no issuer: the sign-out queued the notice and nothing sent it. A portal
    started with an issuer more than the retry time later (an hour) gives it up unsent: its
    logout token would be signed now, long after the sign-out it reports."""
    clock.advance(minutes=61)
    assert await deliver(app, clock, settings, "development") == 1
    assert receiver.posts == []
    (delivery,) = await outbox(database_url)
    assert delivery.failed_at == clock() and delivery.attempts == 1
    expected = "not sent: the portal could not send it within 60 minutes of the sign-out"
    assert delivery.last_error == expected
    async with unit_of_work(database_url) as session:
        query = select(AuditEvent).where(col(AuditEvent.event) == "logout.notified")
        event = (await session.exec(query)).one()
    assert (event.outcome, event.details["reason"], event.details["problem"]) == (
        "failure",
        "too_late",
        expected,
    )
