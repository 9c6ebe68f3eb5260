"""Two-factor sign-in for staff: time-based codes (RFC 6238, an authenticator app) and
single-use recovery codes. No request globals here: the front end passes in what it knows.

A code is accepted within one 30-second step either side of now, and only for a step later
than the last one accepted: one UPDATE … WHERE last_step < step decides, so of any number of
parallel requests carrying the same code exactly one gets in. A recovery code is spent by one
UPDATE … WHERE used_at IS NULL, with the same effect. Attempts are throttled per staff account
with the password throttle (portal/auth/throttle.py), so guessing codes is as slow as guessing
passwords."""

import base64
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.auth import throttle
from portal.auth.models import StaffRecoveryCode
from portal.crypto import digest
from portal.models import Staff, id_of

STEP_SECONDS = 30
WINDOW = 1  # steps either side of now: a phone's clock a little off still works (RFC 6238 §5.2)
RECOVERY_CODES = 10
CODE = re.compile(r"[0-9]{6}")
# 16 base32 characters: 80 bits each, too many to guess online or to reverse from a digest.
RECOVERY_CODE = re.compile(r"[a-z2-7]{16}")


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, as authenticator apps take it when typed in
    uri: str  # the otpauth:// address the QR code carries

    @property
    def qr_svg(self) -> str:
        """The QR code as inline SVG, made here: the secret never goes to another service."""
        svg: str = segno.make(self.uri, error="m").svg_inline(
            scale=5, border=2, dark="#000", light="#fff"
        )
        return svg

    @property
    def grouped_secret(self) -> str:
        """The secret in groups of four, easier to type."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


@dataclass(frozen=True)
class Check:
    accepted: bool
    verdict: throttle.Verdict
    used_recovery_code: bool = False
    recovery_codes_left: int | None = None  # when a recovery code was used


def is_enrolled(account: Staff) -> bool:
    return account.totp_confirmed_at is not None


def enrolment_due(account: Staff, *, required: bool) -> bool:
    """Whether this staff member must set up two-factor sign-in before using the dashboard:
    when the setting requires it of admins, and it is not set up yet."""
    return required and account.role == "admin" and not is_enrolled(account)


def throttle_key(staff_id: int) -> str:
    return f"second-factor:staff:{staff_id}"


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def normalise(code: str) -> str:
    """What people type: spaces and dashes are ignored, letters in any case."""
    return re.sub(r"[\s-]", "", code).lower()[:64]


async def begin_enrolment(db: AsyncSession, account: Staff, *, issuer: str) -> Enrolment | None:
    """The secret to set up (the one already offered, if the staff member came back to the
    page); None when two-factor sign-in is already on. The secret counts only once confirmed."""
    if is_enrolled(account):
        return None
    if account.totp_secret is None:
        # Only if none was offered meanwhile (two tabs at once): both then show the same one.
        await db.exec(
            update(Staff)
            .where(col(Staff.id) == account.id, col(Staff.totp_secret).is_(None))
            .values(totp_secret=pyotp.random_base32(32))  # 160 bits, RFC 4226's recommendation
        )
        await db.refresh(account)
    return enrolment_of(account, issuer=issuer)


def enrolment_of(account: Staff, *, issuer: str) -> Enrolment:
    secret = account.totp_secret or ""
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=issuer)
    return Enrolment(secret, uri)


async def confirm_enrolment(
    db: AsyncSession, account: Staff, code: str, *, now: datetime
) -> list[str] | None:
    """Turn two-factor sign-in on once the staff member proves the app makes the right codes;
    returns the new recovery codes (shown once), or None for a wrong code."""
    if account.totp_secret is None or is_enrolled(account):
        return None
    step = matching_step(account.totp_secret, normalise(code), now)
    if step is None:
        return None
    confirmed = await db.exec(
        update(Staff)
        .where(
            col(Staff.id) == account.id,
            col(Staff.totp_confirmed_at).is_(None),
            col(Staff.totp_secret) == account.totp_secret,
        )
        .values(totp_confirmed_at=now, totp_last_step=step)
        .returning(col(Staff.id))
    )
    if confirmed.first() is None:  # confirmed or reset meanwhile by another request
        return None
    await db.refresh(account)
    return await replace_recovery_codes(db, id_of(account))


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The latest time step within the window whose code this is."""
    if not CODE.fullmatch(code):
        return None
    totp, current = pyotp.TOTP(secret), time_step(now)
    matches = [
        step
        for step in range(current - WINDOW, current + WINDOW + 1)
        if hmac.compare_digest(totp.generate_otp(step), code)
    ]
    return max(matches) if matches else None


async def check(
    db: AsyncSession,
    account: Staff,
    code: str,
    *,
    now: datetime,
    policy: throttle.Policy,
) -> Check:
    """One second-factor attempt: counted by the throttle first, then a code or a recovery
    code, each spent atomically. Call it inside the transaction that starts the session."""
    staff_id = id_of(account)
    # No client address: the throttle is the account's, whoever sends the guesses.
    verdict, reservation = await throttle.reserve(
        db, throttle_key(staff_id), None, now=now, policy=policy
    )
    if reservation is None:
        return Check(False, verdict)
    typed = normalise(code)
    if await use_code(db, account, typed, now=now):
        await throttle.succeeded(db, reservation)
        return Check(True, verdict)
    if await use_recovery_code(db, staff_id, typed, now=now):
        await throttle.succeeded(db, reservation)
        left = await count_recovery_codes(db, staff_id)
        return Check(True, verdict, used_recovery_code=True, recovery_codes_left=left)
    return Check(False, verdict)


async def use_code(db: AsyncSession, account: Staff, code: str, *, now: datetime) -> bool:
    """Accept the code only for a step later than the last accepted one, in one statement."""
    if account.totp_secret is None or not is_enrolled(account):
        return False
    step = matching_step(account.totp_secret, code, now)
    if step is None:
        return False
    accepted = await db.exec(
        update(Staff)
        .where(
            col(Staff.id) == account.id,
            col(Staff.totp_confirmed_at).is_not(None),
            col(Staff.totp_secret) == account.totp_secret,
            or_(col(Staff.totp_last_step).is_(None), col(Staff.totp_last_step) < step),
        )
        .values(totp_last_step=step)
        .returning(col(Staff.id))
    )
    return accepted.first() is not None


async def use_recovery_code(db: AsyncSession, staff_id: int, code: str, *, now: datetime) -> bool:
    if not RECOVERY_CODE.fullmatch(code):
        return False
    spent = await db.exec(
        update(StaffRecoveryCode)
        .where(
            col(StaffRecoveryCode.staff_id) == staff_id,
            col(StaffRecoveryCode.code_hash) == digest(code),
            col(StaffRecoveryCode.used_at).is_(None),
        )
        .values(used_at=now)
        .returning(col(StaffRecoveryCode.id))
    )
    return spent.first() is not None


def new_recovery_code() -> str:
    """`abcd-efgh-ijkl-mnop`: 80 random bits in base32 (no 0/1/8/9 to mistake for letters)."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def replace_recovery_codes(db: AsyncSession, staff_id: int) -> list[str]:
    """Ten new recovery codes; every earlier one stops working. Returned once, stored hashed."""
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    await db.exec(delete(StaffRecoveryCode).where(col(StaffRecoveryCode.staff_id) == staff_id))
    await db.exec(
        insert(StaffRecoveryCode).values(
            [{"staff_id": staff_id, "code_hash": digest(normalise(code))} for code in codes]
        )
    )
    return codes


async def count_recovery_codes(db: AsyncSession, staff_id: int) -> int:
    """Recovery codes not used yet."""
    query = select(func.count()).where(
        col(StaffRecoveryCode.staff_id) == staff_id, col(StaffRecoveryCode.used_at).is_(None)
    )
    return int((await db.exec(query)).one())


async def reset(db: AsyncSession, account: Staff, *, now: datetime) -> bool:
    """Turn two-factor sign-in off (an admin, for a lost phone): the secret and every recovery
    code go; the next sign-in asks only for the password, or for setting it up again where it
    is required. Returns whether it was on."""
    was_on = is_enrolled(account)
    account.totp_secret = None
    account.totp_confirmed_at = None
    account.totp_last_step = None
    account.updated_at = now
    db.add(account)
    await db.exec(
        delete(StaffRecoveryCode).where(col(StaffRecoveryCode.staff_id) == id_of(account))
    )
    return was_on
