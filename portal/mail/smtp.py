"""Sending one message over SMTP (aiosmtplib), as PORTAL_SMTP_URL says: smtp:// (plain, for a
relay on the same host or network), smtp+starttls:// (STARTTLS required) or smtps:// (TLS from
the first byte), with an optional user:password@."""

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from portal.errors import PortalError

TIMEOUT_SECONDS = 15.0
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SendFailed(Exception):
    """The server did not take the message; str() is a short reason without the message.
    `permanent`: the server refused it for good (a 5xx), so trying again will not help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class Server:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> "Server":
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise PortalError("PORTAL_SMTP_URL is not an smtp://, smtp+starttls:// or smtps:// URL")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise PortalError("PORTAL_SMTP_URL has a port that is not a number") from None
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def __repr__(self) -> str:  # never the password, in a log or a traceback
        return f"Server({self.scheme}://{self.host}:{self.port})"


def message(
    sender: str, recipient: str, subject: str, text_body: str, html_body: str
) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML as the richer part."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    domain = Address(addr_spec=parseaddr(sender)[1] or "portal@localhost").domain or "localhost"
    mail["Message-ID"] = make_msgid(domain=domain)
    mail.set_content(text_body)
    mail.add_alternative(html_body, subtype="html")
    return mail


async def send(server: Server, mail: EmailMessage) -> None:
    """`TIMEOUT_SECONDS` bounds each step (connecting, each command, the data), not the whole
    send: the outbox bounds that (portal/outbox/queue.py)."""
    client = aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.scheme == "smtps",
        # Plain smtp:// never upgrades on its own; smtp+starttls:// refuses a server without it.
        start_tls=server.scheme == "smtp+starttls",
        timeout=TIMEOUT_SECONDS,
    )
    try:
        await client.connect()
        await client.send_message(mail)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        first_line = (str(exc).splitlines() or [""])[0][:200]
        reason = f"{type(exc).__name__}: {first_line}".rstrip(": ")
        raise SendFailed(reason, permanent=refused_for_good(exc)) from exc
    finally:
        # No QUIT: the server took the message with its answer to the data (RFC 5321 §4.1.1.4),
        # and a send cut off must end now, not wait a step's timeout for a QUIT's answer.
        client.close()


def refused_for_good(exc: Exception) -> bool:
    """A 5xx answer (RFC 5321 §4.2.1) to the message or to every recipient; a 4xx may pass.
    A 5xx to the login or the sender is the portal's own settings, which staff can put right:
    those messages are tried again, not lost."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(refused.code >= 500 for refused in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPDataError) and exc.code >= 500
