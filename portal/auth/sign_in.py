"""The one sign-in attempt, for members and staff alike: throttle, directory, audit, session.

Three short transactions, and none of them open while the password is checked: reserve the
attempt with the throttle (counted as a failure until proven otherwise), verify (argon2id in a
thread, or iMIS over the network) with no database connection held, then settle — the session
starts and the throttle forgets, or the failure stands. Front ends pass in what they know of
the request; nothing here reads a request."""

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, reasons
from portal.auth import throttle
from portal.auth.accounts import Account, Directory, DirectoryUnavailable
from portal.auth.devices import Device

Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# Starts the session; may return more details for the sign-in's audit event.
OnSuccess = Callable[[AsyncSession, Account], Awaitable[dict[str, Any] | None]]
EVENTS = {"member": "sign_in", "staff": "staff.sign_in"}


@dataclass(frozen=True)
class Attempt:
    login: str
    password: str
    client_address: str | None
    device: Device | None  # what the browser's device cookie says, if it has a valid one


@dataclass(frozen=True)
class Outcome:
    account: Account | None  # set when signed in
    verdict: throttle.Verdict
    unavailable: bool = False  # the directory could not tell (iMIS down): not the member's fault


async def sign_in(
    unit: Unit,
    directory: Directory,
    attempt: Attempt,
    *,
    now: datetime,
    policy: throttle.Policy,
    on_success: OnSuccess,
) -> Outcome:
    """Run one attempt; `on_success` starts the session in the transaction that settles it."""
    async with unit() as db:
        account = await directory.lookup(db, attempt.login) if attempt.login else None
        trusted = _trusted_device(attempt.device, account)
        key = (
            throttle.device_key(directory.kind, trusted)
            if trusted
            else throttle.name_key(directory.kind, attempt.login)
        )
        address = None if trusted else attempt.client_address or "unknown"
        verdict, reservation = await throttle.reserve(db, key, address, now=now, policy=policy)
        if reservation is None:
            await audit.record_anonymous(
                db, EVENTS[directory.kind], now=now, reason=reasons.THROTTLED,
                client_address=attempt.client_address, **_who(directory, attempt, account),
            )  # fmt: skip
            return Outcome(None, verdict)
    try:
        proof = await directory.verify(attempt.login, attempt.password, account)
        async with unit() as db:
            signed_in = await directory.settle(db, proof, now) if proof else None
            if signed_in is None or not signed_in.enabled:
                why = _why(signed_in or account)  # disabled meanwhile, or as the password proved
                await _record(db, directory, attempt, account, "failure", reason=why)
                return Outcome(None, verdict)
            await throttle.succeeded(db, reservation)
            details = await on_success(db, signed_in)
            await _record(db, directory, attempt, signed_in, "success", **(details or {}))
        # The network's row is every sign-in's from that network (a shared address: an office,
        # a conference's Wi-Fi): locked through the transaction above, it let them settle one
        # at a time. Given back on its own, it is held for one statement.
        async with unit() as db:
            await throttle.give_back_network(db, reservation, policy)
        return Outcome(signed_in, verdict)
    except DirectoryUnavailable as exc:
        async with unit() as db:
            await throttle.refund(db, reservation, policy)
            await _record(
                db, directory, attempt, account, "failure",
                reason=reasons.DIRECTORY_UNAVAILABLE, cause=str(exc),
            )  # fmt: skip
        return Outcome(None, verdict, unavailable=True)


def _trusted_device(device: Device | None, account: Account | None) -> Device | None:
    """The device cookie counts only for the account it was issued for."""
    if device is not None and account is not None and device.subject_id == account.id:
        return device
    return None


def _why(account: Account | None) -> str:
    if account is None:
        return reasons.UNKNOWN_USER
    return reasons.DISABLED if not account.enabled else reasons.WRONG_PASSWORD


def _who(directory: Directory, attempt: Attempt, account: Account | None) -> dict[str, Any]:
    """The audit fields that say whose sign-in it was: staff by email, members by id and name."""
    if directory.kind == "staff":
        return {"staff_email": attempt.login or None}
    return {"member_id": account.id if account else None, "username": attempt.login}


async def _record(
    db: AsyncSession,
    directory: Directory,
    attempt: Attempt,
    account: Account | None,
    outcome: str,
    **details: Any,
) -> None:
    await audit.record(
        db,
        EVENTS[directory.kind],
        outcome,
        client_address=attempt.client_address,
        **_who(directory, attempt, account),
        **details,
    )
