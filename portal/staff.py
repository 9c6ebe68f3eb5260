"""Staff accounts: who may open the dashboard, and with which role."""

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, disabling, reasons
from portal.auth import mfa, sessions, throttle
from portal.auth.accounts import Account
from portal.auth.passwords import check_strength, hash_password
from portal.directory.local import account_of, check_password, settle_password
from portal.errors import Conflict, InvalidField, NotFound
from portal.members import EMAIL_PATTERN
from portal.models import ROLES, Staff, id_of

ADMINS_LOCK = 7_100_001  # pg advisory lock id: "who may still manage staff" changes


def check_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not re.fullmatch(EMAIL_PATTERN, email):
        raise InvalidField("email", "staff email is not an email address")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidField("role", f"role must be one of: {', '.join(ROLES)}")
    return role


async def select_staff_by_email(db: AsyncSession, email: str) -> Staff | None:
    return (await db.exec(select(Staff).where(Staff.email == email.strip().lower()))).first()


class StaffDirectory:
    """Staff sign in with their email and a password kept here, through the same attempt as
    members (throttle, device cookie, audit)."""

    kind = "staff"

    async def lookup(self, db: AsyncSession, login: str) -> Account | None:
        return account_of(await select_staff_by_email(db, login))

    async def verify(self, login: str, password: str, account: Account | None) -> Any:
        return await check_password(account, password)

    async def settle(self, db: AsyncSession, proof: Any, now: datetime) -> Account | None:
        row = await settle_password(db, Staff, proof, now)
        if row is None:
            return None
        row.last_sign_in_at = now
        db.add(row)
        return account_of(row)


async def add_staff(db: AsyncSession, email: str, role: str, password: str) -> Staff:
    email, role = check_email(email), check_role(role)
    check_strength(password)
    if await select_staff_by_email(db, email) is not None:
        raise InvalidField("email", f"staff account {email} already exists", 409)
    staff = Staff(email=email, role=role, password_hash=await hash_password(password))
    db.add(staff)
    await db.flush()
    return staff


async def select_all_staff(db: AsyncSession) -> list[Staff]:
    return list(await db.exec(select(Staff).order_by(col(Staff.email))))


async def select_staff_by_id(db: AsyncSession, staff_id: int) -> Staff | None:
    return await db.get(Staff, staff_id)


async def get_staff(db: AsyncSession, staff_id: int) -> Staff:
    account = await select_staff_by_id(db, staff_id)
    if account is None:
        raise NotFound("no such staff account")
    return account


async def _keep_an_admin(db: AsyncSession, account: Staff) -> None:
    """Refuse a change that would leave no enabled admin: nobody could manage staff then.
    Changes to admins take turns (a transaction-scoped lock), so two admins disabling each other
    at the same moment cannot both see the other one as the admin who remains."""
    await db.exec(select(func.pg_advisory_xact_lock(ADMINS_LOCK)))
    others = select(func.count()).where(
        col(Staff.role) == "admin", col(Staff.enabled).is_(True), col(Staff.id) != account.id
    )
    if account.role == "admin" and account.enabled and (await db.exec(others)).one() == 0:
        raise Conflict("this is the last enabled admin; make another admin first")


async def change_role(db: AsyncSession, account: Staff, role: str, *, now: datetime) -> str:
    """Set the role; returns the role before."""
    role, before = check_role(role), account.role
    if role != "admin":
        await _keep_an_admin(db, account)
    account.role = role
    account.updated_at = now
    db.add(account)
    return before


async def disable(
    db: AsyncSession, account: Staff, *, now: datetime, by: audit.Actor
) -> disabling.Switched:
    """The account can no longer sign in: its sessions end and its set-password link is void
    (portal/disabling.py) — unless it is the last enabled admin."""
    await _keep_an_admin(db, account)
    return await disabling.switch(db, account, False, now=now, by=by)


async def enable(
    db: AsyncSession, account: Staff, *, now: datetime, by: audit.Actor
) -> disabling.Switched:
    """The account may sign in again; no session or link of before comes back."""
    return await disabling.switch(db, account, True, now=now, by=by)


def throttle_keys(account: Staff) -> list[str]:
    """Its email's sign-in failures and its two-factor code's: either can lock it."""
    return [*throttle.staff_keys(account.email), mfa.throttle_key(id_of(account))]


async def unlock(db: AsyncSession, account: Staff) -> None:
    """Forget the account's failed sign-ins (its email's and its browsers'), so it can sign in."""
    await throttle.unlock(db, "staff", id_of(account), throttle_keys(account))


Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class PasswordChange:
    changed: bool
    verdict: throttle.Verdict
    sessions_ended: int = 0


async def change_own_password(
    unit: Unit,
    account: Staff,
    current: str,
    new: str,
    *,
    session_id: int,
    client_address: str | None,
    now: datetime,
    policy: throttle.Policy,
) -> PasswordChange:
    """A staff member sets a new password, proving the current one; every other session of
    theirs ends (one opened with the old password must not outlive it). The current password
    is checked as a sign-in is, throttled on the same key, so a borrowed session cannot be
    used to guess it faster. No transaction is open while argon2id runs."""
    check_strength(new)
    async with unit() as db:
        verdict, reservation = await throttle.reserve(
            db,
            throttle.name_key("staff", account.email),
            client_address or "unknown",
            now=now,
            policy=policy,
        )
    if reservation is None:
        return PasswordChange(False, verdict)
    proof = await check_password(account_of(account), current)
    new_hash = await hash_password(new) if proof else None
    async with unit() as db:
        if proof is None or new_hash is None:
            await audit.record(
                db, "staff.password_changed", "failure", staff_email=account.email,
                client_address=client_address, reason=reasons.WRONG_PASSWORD,
            )  # fmt: skip
            return PasswordChange(False, verdict)
        row = await get_staff(db, id_of(account))
        row.password_hash, row.updated_at = new_hash, now
        db.add(row)
        await throttle.succeeded(db, reservation)
        ended = await sessions.end_all(
            db, "staff", id_of(row), now=now, reason="password_changed", keep=session_id
        )
        await audit.record(
            db, "staff.password_changed", staff_email=row.email,
            client_address=client_address, sessions_ended=ended,
        )  # fmt: skip
    async with unit() as db:
        await throttle.give_back_network(db, reservation, policy)
    return PasswordChange(True, verdict, ended)
