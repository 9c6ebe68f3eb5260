"""Single-use links that set a password: a member's "forgot password" and invitation, a staff
member's set-password link from an admin.

A link carries 256 random bits; only their SHA-256 is stored, so a database leak opens nothing.
It is void once used, once a newer link is made for the same account (one live link per account,
which a unique index holds) and once the account's password changes by any path: the link keeps
a digest of the password hash it was made under, and is used only while that still matches.
Using it is one atomic statement (used_at is set only where it was NULL), so of many parallel
uses exactly one wins."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.orm import Mapped
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.crypto import digest, new_secret
from portal.models import AccountLink, Member, Staff

Purpose = Literal["reset", "invitation", "staff_password"]
RESET_TTL = timedelta(minutes=30)
# Keycloak gives its "execute actions" emails 12 hours. An invitation goes to members who did
# not ask for it (often a whole import at once) and read their mail on their own schedule, so it
# lives for three days; it can only set a first password (see invite in portal/recovery.py),
# and a newer link, any password, or its use voids it.
INVITATION_TTL = timedelta(days=3)


def password_digest(password_hash: str | None) -> str:
    """What a link remembers of the password it was made under (NULL: no password yet)."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()


def _current_digest(column: Mapped[str | None]) -> ColumnElement[str]:
    """password_digest, computed by Postgres from the account's row at the moment of use."""
    return func.encode(func.sha256(func.convert_to(func.coalesce(column, ""), "UTF8")), "hex")


@dataclass(frozen=True)
class LinkFor:
    """Whose password a link sets."""

    kind: Literal["member", "staff"]
    account_id: int

    def column(self) -> Mapped[int | None]:
        return col(AccountLink.member_id if self.kind == "member" else AccountLink.staff_id)


async def issue(
    db: AsyncSession,
    account: Member | Staff,
    purpose: Purpose,
    *,
    now: datetime,
    continuation: str | None = None,
) -> str:
    """A new link for `account`; every earlier live link of the account is void. Returns the
    raw token, for the email only."""
    owner = _owner(account)
    model = Member if owner.kind == "member" else Staff
    # Links of one account are made one at a time: the account's row is the lock, so two at
    # once cannot both void the other's and both stay live.
    await db.exec(select(model.id).where(col(model.id) == owner.account_id).with_for_update())
    await void(db, owner, now=now)
    raw = new_secret()
    db.add(
        AccountLink(
            token_hash=digest(raw),
            purpose=purpose,
            member_id=owner.account_id if owner.kind == "member" else None,
            staff_id=owner.account_id if owner.kind == "staff" else None,
            password_digest=password_digest(account.password_hash),
            continuation=continuation,
            created_at=now,
            expires_at=now + (INVITATION_TTL if purpose == "invitation" else RESET_TTL),
        )
    )
    await db.flush()
    return raw


def _owner(account: Member | Staff) -> LinkFor:
    if account.id is None:
        raise RuntimeError("the account has no id yet; flush it first")
    return LinkFor("member" if isinstance(account, Member) else "staff", account.id)


async def void(db: AsyncSession, owner: LinkFor, *, now: datetime) -> int:
    """Every live link of the account is void; returns how many were."""
    result = await db.exec(
        update(AccountLink)
        .where(
            owner.column() == owner.account_id,
            col(AccountLink.used_at).is_(None),
            col(AccountLink.voided_at).is_(None),
        )
        .values(voided_at=now)
    )
    return int(result.rowcount)


@dataclass(frozen=True)
class Link:
    """A live link, as its page needs it. `account_enabled` False: the account was disabled
    while the link lived (disabling voids its links: this is defence in depth), so the link
    cannot be used and its page says why."""

    purpose: Purpose
    owner: LinkFor
    continuation: str | None
    account_enabled: bool = True


def _live(raw: str, now: datetime, kind: str) -> list[ColumnElement[bool]]:
    """A link of this token, unused, not void, not expired, whose account still has the
    password the link was made under (a local member's, for members)."""
    model = Member if kind == "member" else Staff
    owner = col(AccountLink.member_id if kind == "member" else AccountLink.staff_id)
    conditions = [
        col(AccountLink.token_hash) == digest(raw),
        col(AccountLink.used_at).is_(None),
        col(AccountLink.voided_at).is_(None),
        col(AccountLink.expires_at) > now,
        owner == col(model.id),
        col(AccountLink.password_digest) == _current_digest(col(model.password_hash)),
    ]
    if kind == "member":
        conditions.append(col(Member.source) == "local")
    return conditions


def _usable(raw: str, now: datetime, kind: str) -> list[ColumnElement[bool]]:
    """A live link whose account is enabled: a disabled account sets no password (and so
    starts no session) whatever link it holds."""
    model = Member if kind == "member" else Staff
    return [*_live(raw, now, kind), col(model.enabled).is_(True)]


async def find(db: AsyncSession, raw: str, *, now: datetime) -> Link | None:
    """The live link, for its page (using it is `use`, which also wants the account enabled)."""
    for kind, model in (("member", Member), ("staff", Staff)):
        query = select(AccountLink, col(model.enabled)).where(*_live(raw, now, kind))
        found = (await db.exec(query)).first()
        if found is not None:
            row, enabled = found
            return _link(row, enabled)
    return None


async def use(db: AsyncSession, raw: str, new_password_hash: str, *, now: datetime) -> Link | None:
    """Use the link and set its account's password, atomically: of parallel uses exactly one
    gets the link, the others None. The caller ends the account's sessions and audits."""
    for kind, model in (("member", Member), ("staff", Staff)):
        used = (
            (
                await db.exec(
                    update(AccountLink)
                    .where(*_usable(raw, now, kind))
                    .values(used_at=now)
                    .returning(AccountLink)
                    .execution_options(synchronize_session=False)
                )
            )
            .scalars()
            .first()
        )
        if used is not None:
            link = _link(used)
            await db.exec(
                update(model)
                .where(col(model.id) == link.owner.account_id)
                .values(password_hash=new_password_hash, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            return link
    return None


def _link(row: AccountLink, account_enabled: bool = True) -> Link:
    kind: Literal["member", "staff"] = "member" if row.member_id is not None else "staff"
    account_id = row.member_id if row.member_id is not None else row.staff_id
    owner = LinkFor(kind, account_id or 0)
    return Link(row.purpose, owner, row.continuation, account_enabled)  # type: ignore[arg-type]
