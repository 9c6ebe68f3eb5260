"""What the core asks of wherever accounts come from: members from the local directory or iMIS
(portal/directory/), staff from the portal's own table (StaffDirectory in portal/staff.py).

Every directory answers the same three questions for the one sign-in attempt (sign_in.py), so
throttling, sessions, tokens and the audit log work the same whichever is configured
(PORTAL_DIRECTORY). Only `lookup` and `settle` touch the database; `verify` — an argon2id check
or calls to iMIS — never holds a database connection."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession


class DirectoryUnavailable(Exception):
    """The directory gave no usable answer; str() is a short internal reason for the audit."""


@dataclass(frozen=True)
class Account:
    """What a sign-in needs of a member or staff account, detached from any database session."""

    id: int
    enabled: bool
    password_hash: str | None = None


class Directory(Protocol):
    kind: str  # "member" or "staff": the throttle's and the device cookie's namespace

    async def lookup(self, db: AsyncSession, login: str) -> Account | None:
        """The account this login names, if the portal knows it already."""

    async def verify(self, login: str, password: str, account: Account | None) -> Any:
        """Proof that the password is right (passed to `settle`), or None. No database here.
        Raises DirectoryUnavailable when the directory cannot tell."""

    async def settle(self, db: AsyncSession, proof: Any, now: datetime) -> Account | None:
        """The account this proof names, as it is now; None, or a disabled account (the
        directory may disable it here, as iMIS's status can), is a refused sign-in."""
