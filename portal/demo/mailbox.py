"""The demo's SMTP sink: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it
is sent, and a development-only page (/dev/mail) that lists them with their links, so a
password reset can be clicked through without a real mail server. The tests use the same sink."""

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from quart import Blueprint, abort, current_app, render_template
from quart.typing import ResponseReturnValue

LINK = re.compile(r"https?://[^\s<>\"]+")
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Caught:
    sender: str
    recipients: list[str]
    subject: str
    text: str
    html: str
    received_at: datetime

    @property
    def links(self) -> list[str]:
        return LINK.findall(self.text)


class Mailbox:
    """aiosmtpd's handler: every message it is given, in order (its server runs in a thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Caught] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        if not isinstance(mail, EmailMessage):
            return "554 Not a message"
        caught = Caught(
            sender=envelope.mail_from,
            recipients=list(envelope.rcpt_tos),
            subject=str(mail["Subject"]),
            text=_part(mail, "plain"),
            html=_part(mail, "html"),
            received_at=datetime.now(UTC),
        )
        with self._lock:
            self._messages.append(caught)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[Caught]:
        with self._lock:
            return list(self._messages)


def _part(mail: EmailMessage, subtype: str) -> str:
    body = mail.get_body(preferencelist=(subtype,))
    return str(body.get_content()) if body is not None else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(mailbox: Mailbox, port: int) -> Iterator[str]:
    """The sink listens on 127.0.0.1:port until the block ends; yields its PORTAL_SMTP_URL."""
    controller = Controller(mailbox, hostname=HOST, port=port)
    controller.start()
    try:
        yield f"smtp://{HOST}:{port}"
    finally:
        controller.stop()


blueprint = Blueprint("demo_mailbox", __name__)


@blueprint.get("/dev/mail")
async def caught_mail() -> ResponseReturnValue:
    settings = current_app.config["PORTAL_SETTINGS"]
    mailbox: Mailbox | None = current_app.extensions.get("demo_mailbox")
    if mailbox is None or not settings.development:
        abort(404)
    newest_first = list(reversed(mailbox.messages))
    return await render_template("demo/mailbox.html", messages=newest_first)
