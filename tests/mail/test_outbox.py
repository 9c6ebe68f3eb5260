"""Mail as a kind of the outbox, against a real SMTP server on loopback (aiosmtpd): a message is
written in the caller's transaction, delivered once, kept while the server is down, retried with
back-off, and given up (and audited) after its window. Several deliverers at once send each
message once; a deliverer whose lease ran out settles nothing."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from portal.audit_models import AuditEvent
from portal.demo.mailbox import Mailbox, running
from portal.mail import sending, smtp
from portal.mail.compose import Composed
from portal.outbox import queue
from portal.outbox.models import OutboxItem
from tests.conftest import FakeClock, SmtpSink
from tests.flows import unit_of_work

LINK = "http://127.0.0.1:8000/password/reset/abc"


def composed(n: int = 1) -> Composed:
    return Composed(
        f"Message {n}", f"Hello {n}\n{LINK}\n", f"<p>Hello {n} <a href='{LINK}'>x</a></p>"
    )


async def enqueue(database_url: str, clock: FakeClock, n: int = 1) -> None:
    async with unit_of_work(database_url) as db:
        for i in range(1, n + 1):
            await sending.enqueue(
                db, purpose="password_reset", recipient=f"m{i}@example.org",
                composed=composed(i), now=clock(),
            )  # fmt: skip


def mail_kind(url: str) -> queue.Kind[sending.Letter]:
    return sending.kind(smtp.Server.from_url(url), "Example <noreply@example.org>")


def deliverer(database_url: str, url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    kind = mail_kind(url)
    return lambda: queue.deliver_due(lambda: unit_of_work(database_url), clock, kind)


async def rows(database_url: str) -> list[OutboxItem]:
    async with unit_of_work(database_url) as db:
        return list(await db.exec(select(OutboxItem).order_by(OutboxItem.id)))  # type: ignore[arg-type]


async def test_a_message_is_written_only_if_the_callers_transaction_commits(
    database_url: str, clock: FakeClock
) -> None:
    async def failing_work() -> None:
        async with unit_of_work(database_url) as db:
            await sending.enqueue(
                db, purpose="invitation", recipient="a@example.org", composed=composed(),
                now=clock(),
            )  # fmt: skip
            raise RuntimeError("the caller's work failed")

    with pytest.raises(RuntimeError):
        await failing_work()
    assert await rows(database_url) == []
    await enqueue(database_url, clock)
    assert len(await rows(database_url)) == 1


async def test_delivered_once_with_text_and_html_and_the_bodies_forgotten(
    database_url: str, clock: FakeClock, smtp_sink: SmtpSink
) -> None:
    await enqueue(database_url, clock)
    deliver = deliverer(database_url, smtp_sink.url, clock)
    assert await deliver() == 1
    assert await deliver() == 0
    [caught] = smtp_sink.mailbox.messages
    assert caught.recipients == ["m1@example.org"]
    assert caught.sender == "noreply@example.org"
    assert caught.subject == "Message 1"
    assert LINK in caught.text and LINK in caught.html
    [row] = await rows(database_url)
    assert row.delivered_at == clock() and row.attempts == 1
    # The bodies carried a live link: once sent, the outbox keeps none of it.
    assert row.payload == {"purpose": "password_reset", "recipient": "m1@example.org",
                           "subject": "Message 1"}  # fmt: skip


async def test_kept_while_the_server_is_down_then_delivered_exactly_once(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    port = own_port  # nothing listens there yet
    url = f"smtp://127.0.0.1:{port}"
    await enqueue(database_url, clock)
    deliver = deliverer(database_url, url, clock)
    assert await deliver() == 1  # claimed, and not sent
    [row] = await rows(database_url)
    assert row.attempts == 1 and row.delivered_at is None and row.failed_at is None
    assert row.next_attempt_at == clock() + sending.RETRY.first_pause
    assert row.last_error and LINK not in row.last_error
    assert row.payload["text"]  # still there to send
    mailbox = Mailbox()
    with running(mailbox, port):
        assert await deliver() == 0  # not due yet: it waits its back-off
        clock.advance(seconds=sending.RETRY.first_pause.total_seconds())
        assert await deliver() == 1
        clock.advance(hours=2)
        assert await deliver() == 0
    assert [m.subject for m in mailbox.messages] == ["Message 1"]
    [row] = await rows(database_url)
    assert row.delivered_at is not None and row.attempts == 2


def test_the_pause_doubles_up_to_an_hour() -> None:
    pauses = [sending.RETRY.pause_after(n) for n in range(1, 10)]
    assert pauses[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert pauses[-1] == timedelta(hours=1)
    assert sum(pauses, timedelta()) < timedelta(hours=5)


async def test_given_up_after_the_last_attempt_and_staff_are_told(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    url = f"smtp://127.0.0.1:{own_port}"
    await enqueue(database_url, clock)
    deliver = deliverer(database_url, url, clock)
    tries = 0
    while await deliver():
        tries += 1
        clock.advance(hours=1)
    # 0, 1, 2, 3 and 4 hours after it was written: the next would fall after its window.
    assert tries == 5
    [row] = await rows(database_url)
    assert row.failed_at is not None and row.attempts == 5
    assert "text" not in row.payload and "html" not in row.payload
    async with unit_of_work(database_url) as db:
        [event] = (await db.exec(select(AuditEvent).where(AuditEvent.event == "mail.failed"))).all()
    assert event.outcome == "failure"
    assert event.details["reason"] == "smtp_failed"
    assert event.details["email"] == "m1@example.org"


async def test_a_message_first_claimed_after_its_window_is_not_sent(
    database_url: str, clock: FakeClock, smtp_sink: SmtpSink
) -> None:
    await enqueue(database_url, clock)  # written while no worker sent mail
    clock.advance(hours=4, seconds=1)
    assert await deliverer(database_url, smtp_sink.url, clock)() == 1
    assert smtp_sink.mailbox.messages == []
    [row] = await rows(database_url)
    assert row.failed_at is not None and row.attempts == 1
    assert (
        row.last_error
        == "not sent: the portal could not send it within 240 minutes of being written"
    )
    async with unit_of_work(database_url) as db:
        [event] = (await db.exec(select(AuditEvent).where(AuditEvent.event == "mail.failed"))).all()
    assert event.details["reason"] == "too_late"


async def test_parallel_deliverers_send_each_message_once(
    database_url: str, clock: FakeClock, smtp_sink: SmtpSink
) -> None:
    await enqueue(database_url, clock, n=45)
    deliver = deliverer(database_url, smtp_sink.url, clock)

    async def until_empty() -> int:
        total = 0
        while sent := await deliver():
            total += sent
        return total

    totals = await asyncio.gather(*(until_empty() for _ in range(4)))
    assert sum(totals) == 45
    subjects = sorted(m.subject for m in smtp_sink.mailbox.messages)
    assert subjects == sorted(f"Message {i}" for i in range(1, 46))


async def test_a_claimed_message_is_not_claimed_again_until_its_lease_ends(
    database_url: str, clock: FakeClock
) -> None:
    await enqueue(database_url, clock)
    kind = mail_kind("smtp://127.0.0.1:25")
    async with unit_of_work(database_url) as db:
        assert len(await queue.claim(db, kind, now=clock())) == 1
    async with unit_of_work(database_url) as db:
        assert await queue.claim(db, kind, now=clock()) == []
    clock.advance(seconds=sending.RETRY.lease.total_seconds())
    async with unit_of_work(database_url) as db:
        assert len(await queue.claim(db, kind, now=clock())) == 1  # its deliverer died: taken again


@pytest.mark.parametrize(
    ("url", "scheme", "port", "user"),
    [
        ("smtp://relay:2525", "smtp", 2525, None),
        ("smtp+starttls://u%40x:p%3Aw@mail.example.org", "smtp+starttls", 587, "u@x"),
        ("smtps://mail.example.org", "smtps", 465, None),
    ],
)
def test_smtp_urls(url: str, scheme: str, port: int, user: str | None) -> None:
    server = smtp.Server.from_url(url)
    assert (server.scheme, server.port, server.username) == (scheme, port, user)
    assert "p:w" not in repr(server) and "%3A" not in repr(server)


async def test_a_stale_worker_cannot_settle_what_a_newer_holder_is_sending(
    database_url: str, clock: FakeClock, smtp_sink: SmtpSink
) -> None:
    """The first worker hangs past its lease; a second claims the message and is sending it
    when the first wakes up and settles its failure: that must change nothing, or the message
    is claimed a third time (and sent twice) or recorded as failed although it went out."""
    await enqueue(database_url, clock)
    kind = mail_kind(smtp_sink.url)
    async with unit_of_work(database_url) as db:
        [stale] = await queue.claim(db, kind, now=clock())
    clock.advance(seconds=sending.RETRY.lease.total_seconds())
    async with unit_of_work(database_url) as db:
        [holder] = await queue.claim(db, kind, now=clock())
        letter = await kind.prepare(db, holder, clock())
    failed = queue.Outcome("SMTPServerDisconnected: Connection lost", reason="smtp_failed")
    async with unit_of_work(database_url) as db:
        assert not await queue.settle(db, kind, stale, failed, now=clock())
    clock.advance(seconds=sending.RETRY.first_pause.total_seconds())  # the holder still holds it
    async with unit_of_work(database_url) as db:
        assert await queue.claim(db, kind, now=clock()) == [], "the holder's lease was cleared"
    outcome = await kind.send(letter)
    async with unit_of_work(database_url) as db:
        assert await queue.settle(db, kind, holder, outcome, now=clock())
    assert await deliverer(database_url, smtp_sink.url, clock)() == 0
    [row] = await rows(database_url)
    assert row.delivered_at is not None and row.last_error is None and row.attempts == 2
    assert len(smtp_sink.mailbox.messages) == 1


class Refusing(Mailbox):
    """A server that answers the sender, a recipient or the message with `reply`."""

    def __init__(self, at: str, reply: str) -> None:
        super().__init__()
        self.at, self.reply = at, reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.at == "RCPT":
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.at == "MAIL":
            return self.reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return (
            self.reply
            if self.at == "DATA"
            else await super().handle_DATA(server, session, envelope)
        )


@pytest.mark.parametrize(
    ("at", "reply", "given_up"),
    [
        ("RCPT", "550 5.1.1 No such mailbox", True),  # SMTPRecipientsRefused
        ("DATA", "554 5.7.1 Message rejected", True),
        ("RCPT", "451 4.3.0 Try again later", False),
        ("DATA", "421 4.3.2 Shutting down", False),
        # The sender refused: the portal's PORTAL_MAIL_FROM, for staff to put right; kept.
        ("MAIL", "553 5.7.1 Sender address rejected", False),
    ],
)
async def test_a_permanent_refusal_is_given_up_at_once_a_temporary_one_retried(
    database_url: str, clock: FakeClock, own_port: int, at: str, reply: str, given_up: bool
) -> None:
    """operations.md: a permanent failure (a 5xx, an address refused) is given up at once; a
    4xx may pass and is tried again after a pause."""
    await enqueue(database_url, clock)
    with running(Refusing(at, reply), own_port) as url:
        assert await deliverer(database_url, url, clock)() == 1
    [row] = await rows(database_url)
    assert row.attempts == 1 and row.delivered_at is None
    assert (row.failed_at is not None) is given_up
    assert row.last_error and reply.split()[0] in row.last_error
    async with unit_of_work(database_url) as db:
        events = (await db.exec(select(AuditEvent).where(AuditEvent.event == "mail.failed"))).all()
    assert len(events) == int(given_up)
