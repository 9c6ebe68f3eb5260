"""Where members come from: the local directory (Postgres, argon2id) or iMIS.

Both answer the same two questions for the sign-in page, so throttling, sessions, tokens and
the audit log work the same whichever is configured (PORTAL_DIRECTORY)."""

from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from portal.models import Member
from portal.settings import Settings


class DirectoryUnavailable(Exception):
    """The directory gave no usable answer; str() is a short internal reason for the audit."""


class Directory(Protocol):
    async def find(self, db: AsyncSession, login: str) -> Member | None:
        """The member this login names, if we know them already (for the throttle's key)."""

    async def authenticate(
        self, db: AsyncSession, login: str, password: str, known: Member | None
    ) -> Member | None:
        """The member when the password is right and they may sign in; else None.
        Raises DirectoryUnavailable when the directory cannot tell."""


def for_settings(settings: Settings) -> Directory:
    from portal.directory import imis_directory, local

    if settings.directory == "imis":
        return imis_directory.ImisDirectory(imis_directory.config_from(settings))
    return local.LocalDirectory()
