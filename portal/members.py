"""Member records: the one validation of member data (CLI, dashboard, CSV import) and writes."""

import re
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.errors import Conflict, PortalError
from portal.models import Member
from portal.passwords import check_strength, hash_password

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
        return value.lower()

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(EMAIL_PATTERN, value):
            raise ValueError("is not an email address")
        return value.lower() if value else None


def parse_member(values: dict[str, object]) -> MemberData:
    """Validate raw values (form, CSV row, CLI); raises PortalError naming the first bad field."""
    try:
        return MemberData.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "member"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise PortalError(f"{where}: {message}") from None


async def select_member_by_login(db: AsyncSession, login: str) -> Member | None:
    """The member whose username or email is `login` (case-insensitive); username wins a tie."""
    login = login.strip().lower()
    rows = await db.exec(
        select(Member).where(or_(col(Member.username) == login, col(Member.email) == login))
    )
    matches = list(rows)
    return next((m for m in matches if m.username == login), matches[0] if matches else None)


async def ensure_unique(db: AsyncSession, data: MemberData, member_id: int | None = None) -> None:
    checks = {
        "iMIS ID": col(Member.imis_id) == data.imis_id,
        "username": col(Member.username) == data.username,
    }
    if data.email:
        checks["email"] = col(Member.email) == data.email
    for label, condition in checks.items():
        clash = (await db.exec(select(Member.id).where(condition))).first()
        if clash is not None and clash != member_id:
            raise Conflict(f"another member already has this {label}")


async def add_member(db: AsyncSession, data: MemberData, password: str | None = None) -> Member:
    await ensure_unique(db, data)
    password_hash = await hash_password(check_strength(password)) if password else None
    member = Member(**data.model_dump(), password_hash=password_hash, source="local")
    db.add(member)
    await db.flush()
    return member
