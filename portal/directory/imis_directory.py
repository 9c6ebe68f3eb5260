"""iMIS as the member directory: iMIS checks the password; a local mirror row of the member,
refreshed at every sign-in, lets tokens, sessions, the audit log, the dashboard and the user
service work exactly as for local members (the user service answers from that snapshot)."""

import asyncio
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, members
from portal.auth.accounts import Account, DirectoryUnavailable
from portal.catalogue import MEMBER_COLUMNS
from portal.directory.imis import (
    DEFAULT_FIELD_MAP,
    ImisConfig,
    ImisProfile,
    ImisUnavailable,
    WrongCredentials,
    sign_in,
)
from portal.directory.local import account_of
from portal.models import Member
from portal.settings import Settings, SettingsError


def config_from(settings: Settings) -> ImisConfig:
    if not settings.imis_url:
        raise SettingsError("PORTAL_DIRECTORY=imis needs PORTAL_IMIS_URL (the iMIS site root)")
    if not settings.development and not settings.imis_url.startswith("https://"):
        # Members' passwords travel to this URL.
        raise SettingsError("PORTAL_IMIS_URL must be https:// in production")
    try:
        return ImisConfig(
            url=settings.imis_url,
            username=settings.imis_username,
            password=settings.imis_password,
            timeout_seconds=settings.imis_timeout_seconds,
            deadline_seconds=settings.imis_deadline_seconds,
            field_map={**DEFAULT_FIELD_MAP, **settings.imis_field_map},
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


BY_IMIS = audit.Actor(via="imis")  # who disabled a member whose iMIS status says so


class ImisDirectory:
    kind = "member"

    def __init__(
        self,
        config: ImisConfig,
        max_concurrent: int = 20,
        *,
        disabled_statuses: frozenset[str] = frozenset(),
    ) -> None:
        self.config = config
        self.disabled_statuses = disabled_statuses  # casefolded
        # Bounds this process's calls to iMIS: when iMIS is slow, sign-ins queue here (and give
        # up after one call's timeout) instead of piling up without limit.
        self.slots = asyncio.Semaphore(max_concurrent)

    async def lookup(self, db: AsyncSession, login: str) -> Account | None:
        return account_of(await members.select_member_by_login(db, login))

    async def verify(self, login: str, password: str, account: Account | None) -> Any:
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                await self.slots.acquire()
        except TimeoutError:
            raise DirectoryUnavailable("iMIS: too many sign-ins waiting for iMIS") from None
        try:
            return await sign_in(self.config, login, password)
        except WrongCredentials:
            return None
        except ImisUnavailable as exc:
            raise DirectoryUnavailable(f"iMIS: {exc}") from None
        finally:
            self.slots.release()

    async def settle(self, db: AsyncSession, proof: Any, now: datetime) -> Account | None:
        """The member's mirror, refreshed; a disabled one (by staff, or now by iMIS's status)
        is refused by the sign-in."""
        member = await refresh(db, proof, now)
        status = (member.member_status or "").casefold()
        if member.enabled and status in self.disabled_statuses:
            # iMIS says this member may not sign in: their other sessions and grants end too.
            await members.disable(db, member, now=now, by=BY_IMIS, reason="imis_status")
        return account_of(member)


MIRRORED = {field: column for field, column in MEMBER_COLUMNS.items() if field != "ImisId"}
DATE_COLUMNS = {"join_date", "paid_through"}
LOWER_COLUMNS = {"username", "email"}


def column_values(profile: ImisProfile) -> dict[str, object]:
    """Member column values from an iMIS profile, cut to what the columns hold."""
    values: dict[str, object] = {}
    for field, column in MIRRORED.items():
        raw = profile.fields.get(field)
        if column == "username":
            raw = profile.username
        values[column] = _column_value(column, raw)
    values["member_status"] = values["member_status"] or "?"
    return values


def _column_value(column: str, raw: str | None) -> object:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if column in DATE_COLUMNS:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    if column in LOWER_COLUMNS:
        text = text.lower()
    limit = Member.model_fields[column].metadata
    max_length = next((m.max_length for m in limit if hasattr(m, "max_length")), None)
    return text[:max_length] if max_length else text


async def refresh(db: AsyncSession, profile: ImisProfile, now: datetime) -> Member:
    """Create or update the mirror row of this iMIS member (keyed by iMIS ID)."""
    # Read locked: a disabling committed meanwhile is seen (not a stale copy), and one that comes
    # later waits until the session has started, then ends it.
    query = select(Member).where(Member.imis_id == profile.imis_id).with_for_update()
    member = (await db.exec(query)).first() or Member(imis_id=profile.imis_id, username="")
    for column, value in column_values(profile).items():
        setattr(member, column, value)
    member.source, member.refreshed_at, member.updated_at = "imis", now, now
    member.password_hash = None  # iMIS checks the password; a local copy would be a back door
    try:
        async with db.begin_nested():
            db.add(member)
    except IntegrityError:
        raise DirectoryUnavailable(
            f"iMIS member {profile.imis_id}: another local member has the same username or email"
        ) from None
    return member
