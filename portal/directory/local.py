"""Accounts with a password hash in Postgres: the local member directory, and (through the same
two functions) staff accounts."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from portal.auth.accounts import Account
from portal.auth.passwords import verify_and_upgrade
from portal.members import select_member_by_login
from portal.models import Member, Staff

Row = TypeVar("Row", Member, Staff)


@dataclass(frozen=True)
class PasswordProof:
    account_id: int
    upgraded_hash: str | None  # the same password hashed with today's parameters, when needed


def account_of(row: Member | Staff | None) -> Account | None:
    if row is None or row.id is None:
        return None
    return Account(id=row.id, enabled=row.enabled, password_hash=row.password_hash)


async def check_password(account: Account | None, password: str) -> PasswordProof | None:
    """An unknown or disabled account still costs one verification (against a dummy hash)."""
    usable = account if account is not None and account.enabled else None
    ok, upgraded = await verify_and_upgrade(usable.password_hash if usable else None, password)
    return PasswordProof(usable.id, upgraded) if ok and usable else None


async def settle_password(
    db: AsyncSession, model: type[Row], proof: PasswordProof, now: datetime
) -> Row | None:
    """The row again, in this transaction: disabled meanwhile means no sign-in. A hash made with
    old parameters is replaced, so hashes upgrade themselves as members sign in."""
    # Locked until the session has started: a disabling at this moment waits, then ends it.
    row = await db.get(model, proof.account_id, with_for_update=True)
    if row is None or not row.enabled:
        return None
    if proof.upgraded_hash is not None:
        row.password_hash = proof.upgraded_hash
        row.updated_at = now
        db.add(row)
    return row


class LocalDirectory:
    kind = "member"

    async def lookup(self, db: AsyncSession, login: str) -> Account | None:
        return account_of(await select_member_by_login(db, login))

    async def verify(self, login: str, password: str, account: Account | None) -> Any:
        return await check_password(account, password)

    async def settle(self, db: AsyncSession, proof: Any, now: datetime) -> Account | None:
        return account_of(await settle_password(db, Member, proof, now))
