"""Member records: the one validation of member data (CLI, dashboard, CSV import) and writes."""

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, catalogue, disabling, search_text
from portal.auth.passwords import check_strength, hash_password
from portal.errors import Conflict, InvalidField, NotFound
from portal.models import Member, id_of
from portal.validation_messages import for_people

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
Name = Annotated[str | None, Field(default=None, max_length=200)]


def _blank_to_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class MemberData(BaseModel):
    """Everything staff may set on a member; field names are the Member columns."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    imis_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    username: str = Field(min_length=1, max_length=254)
    email: str | None = Field(default=None, max_length=254)
    first_name: Name
    last_name: Name
    full_name: str | None = Field(default=None, max_length=400)
    informal_name: Name
    prefix: str | None = Field(default=None, max_length=50)
    suffix: str | None = Field(default=None, max_length=50)
    designation: Name
    company: str | None = Field(default=None, max_length=300)
    title: Name
    phone: str | None = Field(default=None, max_length=100)
    address1: str | None = Field(default=None, max_length=300)
    city: Name
    state: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=100)
    member_type: str | None = Field(default=None, max_length=64)
    member_status: str = Field(default="A", min_length=1, max_length=32)
    join_date: date | None = None
    paid_through: date | None = None

    _blanks = field_validator("*", mode="before")(_blank_to_none)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if re.search(r"\s", value):
            raise ValueError("must not contain spaces")
        # Members sign in with their email too: a username must not look like one.
        if "@" in value:
            raise ValueError("must not contain @ (members can sign in with their email instead)")
        return value.lower()

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(EMAIL_PATTERN, value):
            raise ValueError("must be an email address, such as name@example.org")
        return value.lower() if value else None


def parse_member(values: dict[str, object]) -> MemberData:
    """Validate raw values (form, CSV row, CLI); raises PortalError naming the first bad field."""
    try:
        return MemberData.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "member"
        message = for_people(first, catalogue.column_label(where))
        raise InvalidField(where, message) from None


async def select_member_by_login(db: AsyncSession, login: str) -> Member | None:
    """The member who signs in as `login` (case-insensitive): an email when it has an `@`, else a
    username. Local usernames never hold an `@` (the database refuses one), so no login name can
    name two members. iMIS usernames may hold one; a login with an `@` finds them only when no
    member has that email."""
    login = login.strip().lower()
    if "@" not in login:
        return (await db.exec(select(Member).where(col(Member.username) == login))).first()
    by_email = (await db.exec(select(Member).where(col(Member.email) == login))).first()
    if by_email is not None:
        return by_email
    return (await db.exec(select(Member).where(col(Member.username) == login))).first()


async def ensure_unique(db: AsyncSession, data: MemberData, member_id: int | None = None) -> None:
    checks = {
        ("imis_id", "iMIS ID"): col(Member.imis_id) == data.imis_id,
        ("username", "username"): col(Member.username) == data.username,
    }
    if data.email:
        checks["email", "email"] = col(Member.email) == data.email
    for (field, label), condition in checks.items():
        clash = (await db.exec(select(Member.id).where(condition))).first()
        if clash is not None and clash != member_id:
            raise InvalidField(field, f"another member already has this {label}", 409)


async def add_member(db: AsyncSession, data: MemberData, password: str | None = None) -> Member:
    await ensure_unique(db, data)
    password_hash = await hash_password(check_strength(password)) if password else None
    member = Member(**data.model_dump(), password_hash=password_hash, source="local")
    db.add(member)
    await db.flush()
    return member


async def select_member_by_id(db: AsyncSession, member_id: int) -> Member | None:
    return await db.get(Member, member_id)


async def get_member(db: AsyncSession, member_id: int) -> Member:
    member = await select_member_by_id(db, member_id)
    if member is None:
        raise NotFound("no such member")
    return member


async def select_first_members(db: AsyncSession, limit: int) -> list[Member]:
    """The oldest members: the ones a preview offers before anyone is searched for."""
    return list(await db.exec(select(Member).order_by(col(Member.id)).limit(limit)))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_members(
    db: AsyncSession,
    q: str,
    *,
    limit: int,
    offset: int = 0,
    where: ColumnElement[bool] | None = None,
) -> list[Member]:
    """Members whose name, email, username or iMIS ID contains every word of `q`, whatever its
    accents and case (portal/search_text.py), and who meet `where` (e.g. a member_status
    filter). A plain scan of one column: without pg_trgm (not in every PostgreSQL the portal
    runs on) no index serves a word found anywhere in a name."""
    query = select(Member) if where is None else select(Member).where(where)
    for word in q.split()[:8]:
        query = query.where(col(Member.search_text).like(_like(search_text.fold(word[:100]))))
    order = (col(Member.last_name), col(Member.first_name), col(Member.id))
    return list(await db.exec(query.order_by(*order).offset(offset).limit(limit)))


def data_of(member: Member) -> dict[str, object]:
    """The staff-editable values of a member, keyed like MemberData."""
    return {name: getattr(member, name) for name in MemberData.model_fields}


async def update_member(
    db: AsyncSession, member: Member, data: MemberData, *, now: datetime
) -> dict[str, object]:
    """Apply validated values; returns the values before, for the audit record."""
    await ensure_unique(db, data, member.id)
    before = data_of(member)
    for name, value in data.model_dump().items():
        setattr(member, name, value)
    member.updated_at = now
    db.add(member)
    await db.flush()
    return before


async def disable(
    db: AsyncSession, member: Member, *, now: datetime, by: audit.Actor, reason: str | None = None
) -> disabling.Switched:
    """The member can no longer sign in, and keeps nothing: their sessions end (every vendor is
    told), their password links are void and their OpenID Connect grants revoked
    (portal/disabling.py). `reason` says why, when it was not a person's choice."""
    return await disabling.switch(db, member, False, now=now, by=by, reason=reason)


async def enable(
    db: AsyncSession, member: Member, *, now: datetime, by: audit.Actor
) -> disabling.Switched:
    """The member may sign in again; nothing withdrawn when they were disabled comes back."""
    return await disabling.switch(db, member, True, now=now, by=by)


async def set_password(db: AsyncSession, member: Member, password: str, *, now: datetime) -> None:
    if member.source != "local":
        raise Conflict("this member signs in with iMIS; change the password in iMIS")
    member.password_hash = await hash_password(check_strength(password))
    member.updated_at = now
    db.add(member)


async def select_members_by_ids(db: AsyncSession, ids: Iterable[int | None]) -> dict[int, Member]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.exec(select(Member).where(col(Member.id).in_(wanted)))
    return {id_of(row): row for row in rows}


async def find_member(db: AsyncSession, text: str) -> Member | None:
    """The member a staff member means by `text`: a username, an email or an iMIS ID."""
    text = text.strip()[:254]
    found = await select_member_by_login(db, text) if text else None
    if found is None and text:
        found = (await db.exec(select(Member).where(col(Member.imis_id) == text))).first()
    return found
