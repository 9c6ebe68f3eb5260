"""Mail as a kind of the outbox (portal/outbox/): `enqueue` writes a message in the caller's
transaction (it is sent only if that commits); the outbox's worker sends it over SMTP, retrying
a failed send after 1, 2, 4 … minutes, at most an hour apart, for four hours; then it is given
up and audited. Once sent or given up, its bodies (which carry a link) are dropped."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit
from portal.mail import smtp
from portal.mail.compose import Composed
from portal.outbox.models import OutboxItem
from portal.outbox.queue import Claimed, Kind, Outcome, Retry

log = logging.getLogger(__name__)
KIND = "mail"
RETRY = Retry(
    first_pause=timedelta(minutes=1),
    longest_pause=timedelta(hours=1),
    window=timedelta(hours=4),
    # aiosmtplib's timeout is per step (connect, each command, the data), so a send alone could
    # outlast this: the outbox cuts each send off at half the lease (queue.send).
    lease=timedelta(minutes=2),
)
# Relays cap the connections one client may hold: a worker sends this many messages at once.
PARALLEL = 4


async def enqueue(
    db: AsyncSession, *, purpose: str, recipient: str, composed: Composed, now: datetime
) -> OutboxItem:
    row = OutboxItem(
        kind=KIND,
        payload={
            "purpose": purpose,
            "recipient": recipient,
            "subject": composed.subject,
            "text": composed.text,
            "html": composed.html,
        },
        created_at=now,
        next_attempt_at=now,
    )
    db.add(row)
    await db.flush()
    return row


@dataclass(frozen=True)
class Letter:
    purpose: str
    recipient: str
    mail: EmailMessage


def kind(server: smtp.Server, sender: str) -> Kind[Letter]:
    async def prepare(db: AsyncSession, row: Claimed, now: datetime) -> Letter:
        p = row.payload
        mail = smtp.message(sender, p["recipient"], p["subject"], p["text"], p["html"])
        return Letter(p["purpose"], p["recipient"], mail)

    async def send(letter: Letter) -> Outcome:
        try:
            await smtp.send(server, letter.mail)
        except smtp.SendFailed as exc:
            # The recipient and the reason only: never the message, which carries a link.
            log.warning("mail to %s not sent: %s", letter.recipient, exc)
            return Outcome(str(exc), retry=not exc.permanent, reason="smtp_failed")
        return Outcome()

    async def finished(db: AsyncSession, row: Claimed, outcome: Outcome) -> None:
        if outcome.delivered:
            return
        await audit.record(
            db, "mail.failed", "failure", reason=outcome.reason, attempts=row.attempts,
            email=row.payload.get("recipient"), purpose=row.payload.get("purpose"),
            cause=(outcome.error or "")[:200],
        )  # fmt: skip

    return Kind(
        KIND, RETRY, prepare, send, finished, written="being written", spent=("text", "html"),
        parallel=PARALLEL,
    )  # fmt: skip
