"""Account recovery for members and staff: ask for a reset link, be invited, set the password
a link allows, and staff sending a member the reset link (the links themselves are
portal/auth/reset_links.py, the mail portal/mail/).

Asking never tells whether an account exists: the answer is the same and so is the work — the
same throttle, the same look-up, a message composed either way; only a known local account's
message is written to the outbox."""

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, members, reasons
from portal.auth import passwords, reset_links, sessions, throttle
from portal.auth.reset_links import Link, Purpose
from portal.crypto import new_secret
from portal.errors import Conflict, InvalidField
from portal.mail import sending
from portal.mail.compose import Composed
from portal.mail.compose import compose as compose_message
from portal.models import Member, Staff

# (the account, the raw token) -> the message that carries the link
Compose = Callable[[Member | Staff, str], Awaitable[Composed]]
# Reset requests are throttled like sign-ins, on their own names: never locked for good (staff
# could not unlock them), but a name or a network asking again and again waits longer each time.
NEVER_LOCKED = 2**31 - 1
RESET_MINUTES = int(reset_links.RESET_TTL.total_seconds() // 60)  # as the message says it


def request_policy(policy: throttle.Policy) -> throttle.Policy:
    return dataclasses.replace(policy, lockout_failures=NEVER_LOCKED)


@dataclass(frozen=True)
class ResetRequest:
    login: str
    client_address: str | None
    continuation: str | None


async def request_reset(
    db: AsyncSession,
    asked: ResetRequest,
    compose: Compose,
    *,
    now: datetime,
    policy: throttle.Policy,
) -> throttle.Verdict:
    """Send a reset link if `asked.login` names a local member with an email; the verdict
    says only whether the request was let through (the throttle counts names as typed)."""
    key = throttle.name_key("reset", asked.login)
    address = asked.client_address or "unknown"
    verdict, reservation = await throttle.reserve(
        db, key, address, now=now, policy=request_policy(policy)
    )
    if reservation is None:
        await audit.record_anonymous(
            db, "password.reset_requested", now=now, client_address=asked.client_address,
            username=asked.login, reason=reasons.THROTTLED,
        )  # fmt: skip
        return verdict
    member = await members.select_member_by_login(db, asked.login)
    reason = _cannot_reset(member)
    if member is None or reason is not None:
        await compose(Member(username=asked.login, imis_id="-"), new_secret())  # the same work
        await audit.record_anonymous(
            db, "password.reset_requested", now=now, client_address=asked.client_address,
            username=asked.login, member_id=member.id if member else None, reason=reason,
        )  # fmt: skip
        return verdict
    await _send_reset_link(db, member, compose, now=now, continuation=asked.continuation)
    await audit.record(
        db, "password.reset_requested", member_id=member.id, username=member.username,
        client_address=asked.client_address,
    )  # fmt: skip
    return verdict


async def _send_reset_link(
    db: AsyncSession, member: Member, compose: Compose, *, now: datetime, continuation: str | None
) -> None:
    """The one way a reset link is made and mailed: a member's request or staff's."""
    raw = await reset_links.issue(db, member, "reset", now=now, continuation=continuation)
    await send(db, member, "password_reset", await compose(member, raw), now=now)


def reset_mail(env: Environment, origin: str, association: str) -> Compose:
    """The message that carries a reset link, whoever asked for it ("Forgot your password?" or
    staff): `origin` is PORTAL_PUBLIC_URL's (never the request's Host, which a forger chooses)."""

    async def composed(account: Member | Staff, raw: str) -> Composed:
        return await compose_message(
            env, "password_reset", f"Choose a new password for {association}", account=account,
            link=f"{origin}/password/reset/{raw}",
            minutes=RESET_MINUTES,
        )  # fmt: skip

    return composed


def password_is_the_portals(member: Member, directory: str) -> bool:
    """Only a local member's password is the portal's (while it signs members in itself); iMIS
    members change theirs in iMIS."""
    return member.source == "local" and directory == "local"


def why_staff_cannot_send_a_link(member: Member, *, directory: str, mail: bool) -> str | None:
    """Why staff are not offered "Send a password-reset email" for this member, in their words,
    or None when they are. `mail`: the portal has a mail server to send it with."""
    if not password_is_the_portals(member, directory):
        return "This member signs in with iMIS, which keeps their password: they reset it in iMIS."
    if not member.enabled:
        return "This member is disabled; enable them first."
    if not member.email:
        return "This member has no email address; add one to send them a link."
    if not mail:
        return (
            "The portal has no mail server (PORTAL_SMTP_URL is not set), so it cannot send "
            "email: set a password instead, or ask your operator to set up mail."
        )
    return None


async def send_reset_link_for_staff(
    db: AsyncSession,
    member: Member,
    compose: Compose,
    *,
    directory: str,
    mail: bool,
    now: datetime,
    policy: throttle.Policy,
) -> throttle.Verdict:
    """Staff send a member the link "Forgot your password?" sends. Refused (Conflict) when
    why_staff_cannot_send_a_link says why; counted on the member's own reset limit (their
    username, as the forgot-password page counts it), so neither a member nor staff can flood
    a mailbox. The verdict says whether it was let through; the caller audits."""
    reason = why_staff_cannot_send_a_link(member, directory=directory, mail=mail)
    if reason is not None:
        raise Conflict(reason)
    # No network counted: staff's office must not be held back for the members they help.
    key = throttle.name_key("reset", member.username)
    verdict, reservation = await throttle.reserve(
        db, key, None, now=now, policy=request_policy(policy)
    )
    if reservation is not None:
        await _send_reset_link(db, member, compose, now=now, continuation=None)
    return verdict


def _cannot_reset(member: Member | None) -> str | None:
    if member is None:
        return reasons.UNKNOWN_USER
    if not member.enabled:
        return reasons.DISABLED
    if member.source != "local":
        return "imis_member"
    return None if member.email else "no_email"


async def send(
    db: AsyncSession, account: Member | Staff, purpose: str, composed: Composed, *, now: datetime
) -> None:
    if not account.email:
        raise Conflict("there is no email address to send to")
    await sending.enqueue(db, purpose=purpose, recipient=account.email, composed=composed, now=now)


async def invite(db: AsyncSession, member: Member, compose: Compose, *, now: datetime) -> None:
    """An invitation to set a first password: only for a local member with an email and no
    password yet (a member with one uses "Forgot your password?")."""
    if member.source != "local":
        raise Conflict("this member signs in with iMIS; iMIS sends its own invitations")
    if not member.enabled:
        raise Conflict("this member is disabled; enable them first")
    if not member.email:
        raise Conflict("this member has no email address; add one first")
    if member.password_hash is not None:
        raise Conflict("this member already has a password; they can use “Forgot your password?”")
    raw = await reset_links.issue(db, member, "invitation", now=now)
    await send(db, member, "invitation", await compose(member, raw), now=now)
    member.invited_at = now
    db.add(member)


async def send_staff_link(
    db: AsyncSession, account: Staff, compose: Compose, *, now: datetime
) -> None:
    """A one-time link with which the staff member chooses a new password (never one chosen
    by the admin); the current password keeps working until the link is used."""
    raw = await reset_links.issue(db, account, "staff_password", now=now)
    await send(db, account, "staff_password", await compose(account, raw), now=now)


def check_new_password(password: str, confirm: str) -> None:
    """The rules of every new password a member or staff member chooses (and typed the same
    twice): raises InvalidField saying what is wrong. The reset page and the account page."""
    passwords.check_strength(password)
    if password != confirm:
        raise InvalidField("password", "the two passwords are not the same")


async def new_password_hash(password: str, confirm: str) -> str:
    """The new password's hash, once it passes check_new_password."""
    check_new_password(password, confirm)
    return await passwords.hash_password(password)


WORDS: dict[Purpose, str] = {
    "reset": "password.reset",
    "invitation": "member.invitation_accepted",
    "staff_password": "staff.password_set_by_link",
}


async def refuse_disabled(
    db: AsyncSession, link: Link, *, now: datetime, client_address: str | None
) -> None:
    """A link of a disabled account was submitted: nothing is set, no session starts, and the
    refusal is audited (capped per network, as whoever holds the link can repeat it)."""
    owner = link.owner
    if owner.kind == "staff":
        account = await db.get(Staff, owner.account_id)
        whose: dict[str, Any] = {"staff": account.email if account else None}
    else:
        member = await db.get(Member, owner.account_id)
        whose = {"member_id": owner.account_id, "username": member.username if member else None}
    await audit.record_anonymous(
        db, WORDS[link.purpose], now=now, client_address=client_address, reason=reasons.DISABLED,
        **whose,
    )  # fmt: skip


async def set_password(
    db: AsyncSession, raw: str, new_password_hash: str, *, now: datetime, client_address: str | None
) -> Link | None:
    """Use the link: the password is set, the account's other sessions end, its sign-in
    failures are forgotten (the email proved who it is), and the event is audited."""
    link = await reset_links.use(db, raw, new_password_hash, now=now)
    if link is None:
        return None
    owner = link.owner
    ended = await sessions.end_all(db, owner.kind, owner.account_id, now=now, reason="password_set")
    if owner.kind == "staff":
        account = await db.get(Staff, owner.account_id)
        email = account.email if account else None
        await throttle.clear(db, throttle.staff_keys(email or ""))
        await audit.record(db, WORDS[link.purpose], staff=email, staff_email=email,
                           client_address=client_address, sessions_ended=ended)  # fmt: skip
        return link
    member = await db.get(Member, owner.account_id)
    if member is not None:
        await throttle.clear(db, throttle.member_keys(member.username, member.email))
        if link.purpose == "invitation":
            member.invitation_accepted_at = now
            db.add(member)
    await audit.record(
        db, WORDS[link.purpose], member_id=owner.account_id,
        username=member.username if member else None, client_address=client_address,
        sessions_ended=ended,
    )  # fmt: skip
    return link
