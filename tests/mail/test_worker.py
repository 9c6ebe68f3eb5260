"""The delivery worker as `portal serve` runs it: two worker processes, each with its own
delivery task, share one outbox and a real SMTP server on loopback. Every message arrives, once."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from portal.mail import sending
from portal.mail.compose import Composed
from tests.conftest import SmtpSink
from tests.flows import live_portal, unit_of_work

MESSAGES = 40


async def enqueue(database_url: str) -> None:
    async with unit_of_work(database_url) as db:
        for n in range(MESSAGES):
            composed = Composed(f"Message {n}", f"Body {n}\n", f"<p>Body {n}</p>")
            await sending.enqueue(
                db, purpose="invitation", recipient=f"m{n}@example.org", composed=composed,
                now=datetime.now(UTC),
            )  # fmt: skip


def wait_until(done: Callable[[], bool], seconds: float) -> None:
    """Other processes are at work: look again until they are done, or the time is up."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_two_processes_deliver_every_message_once(
    database_url: str, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    asyncio.run(enqueue(database_url))
    settings = {"PORTAL_SMTP_URL": smtp_sink.url, "PORTAL_MAIL_FROM": "noreply@example.org"}
    with live_portal(database_url, tmp_path, workers=2, **settings):
        wait_until(lambda: len(smtp_sink.mailbox.messages) >= MESSAGES, 30)
        wait_until(lambda: False, 2)  # two more delivery rounds: a duplicate would arrive now
    subjects = sorted(m.subject for m in smtp_sink.mailbox.messages)
    assert subjects == sorted(f"Message {n}" for n in range(MESSAGES))
