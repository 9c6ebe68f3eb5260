"""Staff accounts: who may open the dashboard, and with which role."""

import re

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.errors import Conflict, PortalError
from portal.members import EMAIL_PATTERN
from portal.models import ROLES, Staff
from portal.passwords import check_strength, hash_password


def check_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not re.fullmatch(EMAIL_PATTERN, email):
        raise PortalError("staff email is not an email address")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise PortalError(f"role must be one of: {', '.join(ROLES)}")
    return role


async def select_staff_by_email(db: AsyncSession, email: str) -> Staff | None:
    return (await db.exec(select(Staff).where(Staff.email == email.strip().lower()))).first()


async def add_staff(db: AsyncSession, email: str, role: str, password: str) -> Staff:
    email, role = check_email(email), check_role(role)
    check_strength(password)
    if await select_staff_by_email(db, email) is not None:
        raise Conflict(f"staff account {email} already exists")
    staff = Staff(email=email, role=role, password_hash=await hash_password(password))
    db.add(staff)
    await db.flush()
    return staff
