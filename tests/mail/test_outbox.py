"""The outbox against a real SMTP server on loopback (aiosmtpd): a message is written in the
caller's transaction, delivered once, kept while the server is down, retried with back-off, and
given up (and audited) after the last attempt. Several deliverers at once send each message once."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.demo.mailbox import Mailbox, running
from portal.mail import outbox, smtp
from portal.mail.compose import Composed
from portal.models import AuditEvent, MailMessage
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
            await outbox.enqueue(
                db, purpose="password_reset", recipient=f"m{i}@example.org",
                composed=composed(i), now=clock(),
            )  # fmt: skip


def postman(url: str, clock: FakeClock) -> outbox.Postman:
    return outbox.Postman(smtp.Server.from_url(url), "Example <noreply@example.org>", clock)


def deliverer(database_url: str, url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    return lambda: outbox.deliver_due(lambda: unit_of_work(database_url), postman(url, clock))


async def rows(database_url: str) -> list[MailMessage]:
    async with unit_of_work(database_url) as db:
        return list(await db.exec(select(MailMessage).order_by(MailMessage.id)))  # type: ignore[arg-type]


async def test_a_message_is_written_only_if_the_callers_transaction_commits(
    database_url: str, clock: FakeClock
) -> None:
    async def failing_work() -> None:
        async with unit_of_work(database_url) as db:
            await outbox.enqueue(
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
    assert row.sent_at == clock() and row.attempts == 1
    # The bodies carried a live link: once sent, the outbox keeps none of it.
    assert row.text_body == row.html_body == ""


async def test_kept_while_the_server_is_down_then_delivered_exactly_once(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    port = own_port  # nothing listens there yet
    url = f"smtp://127.0.0.1:{port}"
    await enqueue(database_url, clock)
    deliver = deliverer(database_url, url, clock)
    assert await deliver() == 0
    [row] = await rows(database_url)
    assert row.attempts == 1 and row.sent_at is None and row.failed_at is None
    assert row.next_attempt_at == clock() + outbox.FIRST_PAUSE
    assert row.last_error and LINK not in row.last_error
    assert row.text_body  # still there to send
    mailbox = Mailbox()
    with running(mailbox, port):
        assert await deliver() == 0  # not due yet: it waits its back-off
        clock.advance(seconds=outbox.FIRST_PAUSE.total_seconds())
        assert await deliver() == 1
        clock.advance(hours=2)
        assert await deliver() == 0
    assert [m.subject for m in mailbox.messages] == ["Message 1"]
    [row] = await rows(database_url)
    assert row.sent_at is not None and row.attempts == 2


def test_the_pause_doubles_up_to_an_hour() -> None:
    pauses = [outbox.pause_after(n) for n in range(1, 10)]
    assert pauses[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert pauses[-1] == timedelta(hours=1)
    assert sum(pauses, timedelta()) < timedelta(hours=5)


async def test_given_up_after_the_last_attempt_and_staff_are_told(
    database_url: str, clock: FakeClock, own_port: int
) -> None:
    url = f"smtp://127.0.0.1:{own_port}"
    await enqueue(database_url, clock)
    deliver = deliverer(database_url, url, clock)
    for _ in range(outbox.MAX_ATTEMPTS):
        assert await deliver() == 0
        clock.advance(hours=1)
    assert await deliver() == 0  # nothing is tried after the last attempt
    [row] = await rows(database_url)
    assert row.failed_at is not None and row.attempts == outbox.MAX_ATTEMPTS
    assert row.text_body == row.html_body == ""
    async with unit_of_work(database_url) as db:
        [event] = (await db.exec(select(AuditEvent).where(AuditEvent.event == "mail.failed"))).all()
    assert event.outcome == "failure"
    assert event.details["reason"] == "smtp_failed"
    assert event.details["email"] == "m1@example.org"


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
    async with unit_of_work(database_url) as db:
        assert len(await outbox.claim(db, now=clock())) == 1
    async with unit_of_work(database_url) as db:
        assert await outbox.claim(db, now=clock()) == []
    clock.advance(seconds=outbox.LEASE.total_seconds())
    async with unit_of_work(database_url) as db:
        assert len(await outbox.claim(db, now=clock())) == 1  # its deliverer died: taken again


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
