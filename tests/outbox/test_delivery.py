"""One round of the outbox's delivery (queue.deliver_due), with mail as its kind, against a real
SMTP server on loopback (aiosmtpd) that can hold a message back: each row is settled as soon as
its own send ends, a send is cut off well within its lease, a row that cannot be prepared or
sent is a failed attempt like any other, and a kind sends no more than its bound at once."""

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlmodel import select

from portal.audit_models import AuditEvent
from portal.demo.mailbox import Mailbox, running
from portal.mail import sending
from portal.outbox import queue
from portal.outbox.models import OutboxItem
from tests.conftest import FakeClock
from tests.flows import unit_of_work
from tests.mail.test_outbox import LINK, composed, enqueue, mail_kind, rows


class Holding(Mailbox):
    """A sink that takes each message `seconds` to accept, holds the messages to `held` until
    `release` is set, and counts how many it is taking at once."""

    def __init__(self, held: set[str] | None = None, seconds: float = 0.0) -> None:
        super().__init__()
        self.held = held or set()
        self.seconds = seconds
        self.release = threading.Event()
        self.at_once = self.most_at_once = 0
        self._counting = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._counting:
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            await asyncio.sleep(self.seconds)
            if self.held & set(envelope.rcpt_tos):
                await asyncio.to_thread(self.release.wait, 30)
            return await super().handle_DATA(server, session, envelope)
        finally:
            with self._counting:
                self.at_once -= 1


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10) -> bool:
    """Another task is at work: look again until `check` holds, or the time is up."""
    for _ in range(int(seconds * 10)):
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


def one_round(database_url: str, clock: FakeClock, kind: queue.Kind[Any]) -> Awaitable[int]:
    return queue.deliver_due(lambda: unit_of_work(database_url), clock, kind)


async def test_a_message_is_settled_as_soon_as_it_is_sent_not_when_the_batch_ends(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    """Settled only when the slowest send of its batch ended, a sent message stays leased and
    unsettled: past its lease another worker would send it again."""
    await enqueue(database_url, clock, n=2)
    sink = Holding(held={"m2@example.org"})
    with running(sink, own_port) as url:
        delivering = asyncio.ensure_future(one_round(database_url, clock, mail_kind(url)))
        try:

            async def first_settled() -> bool:
                first = (await rows(database_url))[0]
                return first.delivered_at is not None and first.leased_until is None

            assert await eventually(first_settled), "a sent message waited for the batch"
            assert not delivering.done()
        finally:
            sink.release.set()
            assert await delivering == 2
    assert all(row.delivered_at is not None for row in await rows(database_url))


async def test_a_send_is_cut_off_well_within_its_lease_and_tried_again(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    """aiosmtplib's timeout is per step: a server that trickles could hold a send past its
    lease, and another worker would send it too. The whole send is bounded by half the lease."""
    await enqueue(database_url, clock)
    sink = Holding(held={"m1@example.org"})
    with running(sink, own_port) as url:
        mail = mail_kind(url)
        kind = replace(mail, retry=replace(mail.retry, lease=timedelta(seconds=1)))
        try:
            assert await asyncio.wait_for(one_round(database_url, clock, kind), timeout=10) == 1
        finally:
            sink.release.set()
    [row] = await rows(database_url)
    assert row.delivered_at is None and row.failed_at is None and row.leased_until is None
    assert row.last_error == "no answer within 0.5 seconds"
    assert row.next_attempt_at == clock() + sending.RETRY.first_pause


async def test_a_send_that_raises_is_a_failed_attempt_and_the_rest_of_the_batch_goes_out(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    """aiosmtplib raises ValueError for a message without a recipient: that row fails, the
    others are sent and settled, and the error recorded never carries the message."""
    async with unit_of_work(database_url) as db:
        await sending.enqueue(
            db, purpose="invitation", recipient="", composed=composed(), now=clock()
        )
    await enqueue(database_url, clock)
    sink = Holding()
    with running(sink, own_port) as url:
        assert await one_round(database_url, clock, mail_kind(url)) == 2
    broken, sent = await rows(database_url)
    assert [m.recipients for m in sink.messages] == [["m1@example.org"]]
    assert sent.delivered_at is not None
    assert (broken.attempts, broken.delivered_at, broken.failed_at) == (1, None, None)
    assert broken.leased_until is None
    assert broken.last_error and broken.last_error.startswith("ValueError")
    assert LINK not in broken.last_error


async def test_a_row_that_cannot_be_prepared_is_a_failed_attempt_and_blocks_nothing(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    """A row whose prepare raises (a payload it cannot read; a pairwise vendor whose key cannot
    be read) must not roll back the claim: its attempt counts, so it is given up after its
    window, and the rest of its batch is sent."""
    async with unit_of_work(database_url) as db:
        db.add(OutboxItem(kind="mail", payload={"purpose": "invitation"}, created_at=clock(),
                          next_attempt_at=clock()))  # fmt: skip
    await enqueue(database_url, clock)
    sink = Holding()
    with running(sink, own_port) as url:
        kind = mail_kind(url)
        assert await one_round(database_url, clock, kind) == 2
        broken, sent = await rows(database_url)
        assert sent.delivered_at is not None and len(sink.messages) == 1
        assert (broken.attempts, broken.failed_at, broken.leased_until) == (1, None, None)
        assert broken.last_error == "could not prepare it: KeyError: 'recipient'"
        clock.advance(hours=4, seconds=1)
        assert await one_round(database_url, clock, kind) == 1
    broken, _ = await rows(database_url)
    assert broken.failed_at is not None and broken.attempts == 2
    # Past its window a row is given up before it is prepared (a logout token is not signed).
    assert broken.last_error and broken.last_error.startswith("not sent:")
    async with unit_of_work(database_url) as db:
        [event] = (await db.exec(select(AuditEvent).where(AuditEvent.event == "mail.failed"))).all()
    assert event.details["reason"] == "too_late"


async def test_mail_goes_to_the_server_a_few_messages_at_a_time(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    """Relays cap the connections one client may hold: a worker sends at most `parallel`
    messages at once, however many are due."""
    await enqueue(database_url, clock, n=10)
    sink = Holding(seconds=0.3)
    with running(sink, own_port) as url:
        kind = mail_kind(url)
        while await one_round(database_url, clock, kind):
            pass
    assert len(sink.messages) == 10
    assert 1 < sink.most_at_once <= kind.parallel == 4


async def test_a_claimed_rows_repr_leaves_out_its_payload(
    database_url: str, clock: FakeClock
) -> None:
    """A traceback or a log line showing a claimed row must not show the reset link it carries."""
    await enqueue(database_url, clock)
    async with unit_of_work(database_url) as db:
        [claimed] = await queue.claim(db, mail_kind("smtp://127.0.0.1:25"), now=clock())
    assert LINK in claimed.payload["text"]
    assert LINK not in repr(claimed) and "payload" not in repr(claimed)
