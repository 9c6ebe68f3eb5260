"""Disabling an account — a member or a staff account — and enabling it again: the one rule
behind members.disable/enable and staff.disable/enable, which the dashboard, the command line
and the iMIS directory call (never this module's `switch` directly: staff.disable first keeps
an admin).

Disabling withdraws everything the account could still use, in the caller's transaction: every
open portal session ends through sessions.end (so single logout tells every vendor a session
reached, and its unredeemed tokens are voided), every unused link to set a password is void
(a reset, an invitation, a staff set-password link), and every OpenID Connect grant of a member
is revoked, offline ones included. Enabling again revives none of them: the account signs in
afresh, and asks for a new link."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, front_ends
from portal.auth import reset_links, sessions
from portal.models import Member, Staff, id_of

Account = Member | Staff


@dataclass(frozen=True)
class Switched:
    """What a switch did. `changed` is False when the account was so already (no event then)."""

    changed: bool
    sessions_ended: int = 0
    links_voided: int = 0
    grants_revoked: int = 0


async def switch(
    db: AsyncSession,
    account: Account,
    enabled: bool,
    *,
    now: datetime,
    by: audit.Actor,
    reason: str | None = None,
) -> Switched:
    """Enable or disable `account` and record it (member.disabled, staff.enabled …) with who
    did it and, for a disabling, what it withdrew. Disabling an account that is disabled
    already withdraws again whatever it finds, and records nothing."""
    if enabled:
        done = Switched(await _set_enabled(db, account, True, now=now))
    else:
        done = await _disable(db, account, now=now)
    if done.changed:
        await _record(db, account, done, by=by, reason=reason)
    return done


async def _disable(db: AsyncSession, account: Account, *, now: datetime) -> Switched:
    kind: sessions.Kind = "member" if isinstance(account, Member) else "staff"
    account_id = id_of(account)
    # The order a password link's use takes (the link, then the account's row, then the new
    # session): a link used at this moment either loses here, or its session is ended below.
    voided = await reset_links.void(db, reset_links.LinkFor(kind, account_id), now=now)
    changed = await _set_enabled(db, account, False, now=now)
    revoked = 0
    if kind == "member":  # counted before end_all, which would revoke them too, uncounted
        revoked = await front_ends.member_signed_out(
            db, account_id, now=now, reason="member_disabled", keep_session=None
        )
    ended = await sessions.end_all(db, kind, account_id, now=now, reason=f"{kind}_disabled")
    return Switched(changed, ended, voided, revoked)


async def _set_enabled(db: AsyncSession, account: Account, enabled: bool, *, now: datetime) -> bool:
    """One conditional UPDATE: of two staff switching the same account at once, one changes it
    (and records it)."""
    model = type(account)
    won = await db.exec(
        update(model)
        .where(col(model.id) == account.id, col(model.enabled).is_(not enabled))
        .values(enabled=enabled, updated_at=now)
        .returning(col(model.id))
        .execution_options(synchronize_session=False)
    )
    changed = won.first() is not None
    await db.refresh(account, ["enabled", "updated_at"])
    return changed


async def _record(
    db: AsyncSession, account: Account, done: Switched, *, by: audit.Actor, reason: str | None
) -> None:
    enabled = account.enabled
    changes = audit.changes({"enabled": not enabled}, {"enabled": enabled})
    details: dict[str, Any] = {"changes": changes}
    whose: dict[str, Any]
    if isinstance(account, Member):
        kind, whose = "member", {"member_id": account.id, "username": account.username}
    else:
        kind, whose = "staff", {"staff": account.email}
    if not enabled:
        details.update(sessions_ended=done.sessions_ended, links_voided=done.links_voided)
        if kind == "member":
            details["grants_revoked"] = done.grants_revoked
    if reason:
        details["reason"] = reason
    event = f"{kind}.{'enabled' if enabled else 'disabled'}"
    await audit.record(db, event, **whose, **by.fields(), **details)
