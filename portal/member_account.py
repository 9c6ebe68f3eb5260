"""A member's own account (the account page, /account; Keycloak's account console): their sites,
where they are signed in, ending those sign-ins, changing their password, and what the portal
holds about them. The rules and queries; the pages are portal/enhanced/account_views.py, the
download's content portal/member_data.py."""

import ipaddress
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, reasons, recovery
from portal.auth import sessions, throttle
from portal.auth.models import AuthSession
from portal.auth.passwords import hash_password
from portal.directory.local import account_of, check_password
from portal.models import Member, SessionVendor, Vendor, id_of

Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# Where a member signs out one other browser, or every browser (sessions.end's reason).
ENDED_BY_MEMBER = "ended_by_member"
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"


def network_in_words(address: str | None) -> str:
    """Where a sign-in came from, without pointing at one household: an IPv4 address with its
    last part hidden (203.0.113.x), an IPv6 address as its /48 (a site's prefix). No GeoIP
    database is shipped, so no town or country is guessed."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return "Unknown network"
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if isinstance(parsed, ipaddress.IPv4Address):
        return ".".join(str(parsed).split(".")[:3]) + ".x"
    return str(ipaddress.ip_network(f"{parsed}/48", strict=False))


@dataclass(frozen=True)
class SiteUsed:
    vendor: Vendor
    first_at: datetime | None
    last_at: datetime | None


async def sites_used(db: AsyncSession, member_id: int) -> list[SiteUsed]:
    """The vendors a member's sessions reached (session_vendor), for as long as the portal keeps
    the sessions, most recently used first."""
    query = (
        select(Vendor, func.min(SessionVendor.first_at), func.max(SessionVendor.last_at))
        .join(SessionVendor, col(SessionVendor.vendor_id) == col(Vendor.id))
        .join(AuthSession, col(AuthSession.id) == col(SessionVendor.session_id))
        .where(col(AuthSession.member_id) == member_id)
        .group_by(col(Vendor.id))
        .order_by(func.max(SessionVendor.last_at).desc(), col(Vendor.name))
    )
    return [SiteUsed(vendor, first, last) for vendor, first, last in await db.exec(query)]


def may_change_password(member: Member, directory: str) -> bool:
    """Only a local member's password is the portal's; iMIS members change theirs in iMIS."""
    return recovery.password_is_the_portals(member, directory)


async def own_session(db: AsyncSession, member_id: int, session_id: int) -> AuthSession | None:
    """The member's own session with this id, or None: another member's is never found."""
    row = await sessions.select_member_session(db, session_id)
    return row if row is not None and row.member_id == member_id else None


async def end_other_session(
    db: AsyncSession, row: AuthSession, *, now: datetime, client_address: str | None
) -> None:
    """The member signs one of their browsers out: it ends, and every vendor it reached is told
    (sessions.end). One that had ended already (a second press) changes nothing, and is not
    audited again."""
    if not await sessions.end(db, row, now=now, reason=ENDED_BY_MEMBER):
        return
    await audit.record(
        db, "member.session_ended", member_id=row.member_id, client_address=client_address,
        session=row.id,
    )  # fmt: skip


async def sign_out_everywhere(
    db: AsyncSession, member: Member, *, now: datetime, client_address: str | None
) -> int:
    """Every session of the member ends (this browser's has ended already, by its cookie), and
    what outlives a session too (offline access): every vendor is told. Returns how many ended."""
    ended = await sessions.end_all(
        db, "member", id_of(member), now=now, reason=SIGNED_OUT_EVERYWHERE
    )
    await audit.record(
        db, "member.signed_out_everywhere", member_id=member.id, username=member.username,
        client_address=client_address, sessions_ended=ended,
    )  # fmt: skip
    return ended


@dataclass(frozen=True)
class PasswordChange:
    changed: bool
    verdict: throttle.Verdict
    sessions_ended: int = 0


async def change_password(
    unit: Unit,
    member: Member,
    current: str,
    new: str,
    confirm: str,
    *,
    session_id: int,
    client_address: str | None,
    now: datetime,
    policy: throttle.Policy,
) -> PasswordChange:
    """A local member sets a new password, proving the current one. The new one follows the
    reset page's rules (recovery.check_new_password: raises InvalidField). The current one is
    checked as a sign-in is, on the same throttle key as their username, so a borrowed session
    cannot guess it faster than the sign-in page. On success every other session of theirs ends
    (one opened with the old password must not outlive it). No transaction is open while
    argon2id runs."""
    recovery.check_new_password(new, confirm)
    async with unit() as db:
        verdict, reservation = await throttle.reserve(
            db, throttle.name_key("member", member.username), client_address or "unknown",
            now=now, policy=policy,
        )  # fmt: skip
        if reservation is None:
            await audit.record_anonymous(
                db, "member.password_changed", now=now, client_address=client_address,
                member_id=member.id, username=member.username, reason=reasons.THROTTLED,
            )  # fmt: skip
            return PasswordChange(False, verdict)
    proof = await check_password(account_of(member), current)
    new_hash = await hash_password(new) if proof else None
    async with unit() as db:
        row = await db.get(Member, id_of(member), with_for_update=True)
        if proof is None or new_hash is None or row is None or row.source != "local":
            await audit.record(
                db, "member.password_changed", "failure", member_id=member.id,
                username=member.username, client_address=client_address,
                reason=reasons.WRONG_PASSWORD,
            )  # fmt: skip
            return PasswordChange(False, verdict)
        row.password_hash, row.updated_at = new_hash, now
        db.add(row)
        await throttle.clear(db, throttle.member_keys(row.username, row.email))
        ended = await sessions.end_all(
            db, "member", id_of(row), now=now, reason="password_changed", keep=session_id
        )
        await audit.record(
            db, "member.password_changed", member_id=row.id, username=row.username,
            client_address=client_address, sessions_ended=ended,
        )  # fmt: skip
    async with unit() as db:
        await throttle.give_back_network(db, reservation, policy)
    return PasswordChange(True, verdict, ended)
