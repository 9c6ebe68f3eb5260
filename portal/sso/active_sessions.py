"""Live sessions as staff see them: which are active, what they were used for, ending them."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.models import AuthSession, Member, SsoToken, Vendor
from portal.sso import sessions
from portal.sso.sessions import Kind, Policy

PAGE_SIZE = 50


def _live(now: datetime, policy: Policy) -> list[ColumnElement[bool]]:
    """Not ended, and neither timeout has passed (a timed-out row is only marked when used)."""
    return [
        col(AuthSession.ended_at).is_(None),
        col(AuthSession.expires_at) > now,
        col(AuthSession.last_seen_at) > now - policy.idle,
    ]


async def count_member_sessions(db: AsyncSession, *, now: datetime, policy: Policy) -> int:
    query = select(func.count()).where(col(AuthSession.member_id).is_not(None), *_live(now, policy))
    return int((await db.exec(query)).one())


@dataclass(frozen=True)
class ActiveSession:
    session: AuthSession
    member: Member
    vendors: list[Vendor]


@dataclass(frozen=True)
class SessionPage:
    sessions: list[ActiveSession]
    older: int | None  # the cursor of the next page, newest sessions first


async def member_sessions(
    db: AsyncSession,
    *,
    now: datetime,
    policy: Policy,
    member_id: int | None = None,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> SessionPage:
    """Active member sessions, newest first, keyset-paginated by id."""
    query = (
        select(AuthSession, Member)
        .join(Member, col(Member.id) == col(AuthSession.member_id))
        .where(*_live(now, policy))
    )
    if member_id is not None:
        query = query.where(col(AuthSession.member_id) == member_id)
    if before is not None:
        query = query.where(col(AuthSession.id) < before)
    rows = list(await db.exec(query.order_by(col(AuthSession.id).desc()).limit(size + 1)))
    used = await vendors_used(db, [row.id for row, _ in rows[:size] if row.id is not None])
    found = [ActiveSession(row, member, used.get(row.id or 0, [])) for row, member in rows[:size]]
    older = found[-1].session.id if len(rows) > size else None
    return SessionPage(found, older)


async def vendors_used(db: AsyncSession, session_ids: list[int]) -> dict[int, list[Vendor]]:
    """{session id: the vendors it was issued tokens for}, from the session's sso_token rows."""
    if not session_ids:
        return {}
    query = (
        select(col(SsoToken.session_id), Vendor)
        .join(Vendor, col(Vendor.id) == col(SsoToken.vendor_id))
        .where(col(SsoToken.session_id).in_(session_ids))
        .distinct()
        .order_by(col(SsoToken.session_id), col(Vendor.name))
    )
    used: dict[int, list[Vendor]] = {}
    for session_id, vendor in await db.exec(query):
        used.setdefault(session_id, []).append(vendor)
    return used


async def select_member_session(db: AsyncSession, session_id: int) -> AuthSession | None:
    row = await db.get(AuthSession, session_id)
    return row if row is not None and row.member_id is not None else None


async def end_all(
    db: AsyncSession, kind: Kind, subject_id: int, *, now: datetime, reason: str
) -> int:
    """End every open session of one member or staff account; returns how many were open."""
    subject = col(AuthSession.member_id if kind == "member" else AuthSession.staff_id)
    rows = await db.exec(
        select(AuthSession).where(subject == subject_id, col(AuthSession.ended_at).is_(None))
    )
    ended = 0
    for row in rows.all():
        await sessions.end(db, row, now=now, reason=reason)
        ended += 1
    return ended
