"""Server-side sessions, for members and for staff alike: the rows behind the session cookies
(portal/session_cookies.py), and the live sessions as staff see them.

A session is named by a random id (256 bits) that only the browser's cookie holds; the row keeps
its digest and is checked on every request, so sign-out, revocation and timeouts take effect at
once."""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, front_ends, session_vendors, single_logout
from portal.auth.models import AuthSession
from portal.crypto import digest, new_secret
from portal.models import Member, Staff, Vendor, id_of
from portal.settings import Settings

Kind = Literal["member", "staff"]
# Writing last_seen on every request costs a write per page; this granularity is plenty for a
# 30-minute idle timeout.
TOUCH_INTERVAL = timedelta(seconds=30)
# A sign-in waiting for its two-factor code: long enough to open an app and type, short enough
# that a half-signed-in cookie left behind is soon worthless.
SECOND_FACTOR_WAIT = timedelta(minutes=5)
PAGE_SIZE = 50


@dataclass(frozen=True)
class Policy:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
        )


async def start(
    db: AsyncSession,
    kind: Kind,
    subject_id: int,
    *,
    now: datetime,
    policy: Policy,
    client_address: str | None,
    user_agent: str | None,
    fresh_sign_in: bool = False,
    awaiting_second_factor: bool = False,
) -> str:
    """A fresh session (a new id at every sign-in, so a planted id is worthless); returns its
    raw id, which only the cookie keeps. `awaiting_second_factor`: the password was right and
    the code is still due; such a session lasts minutes and opens no dashboard page."""
    raw = new_secret()
    lifetime = (
        min(policy.absolute, SECOND_FACTOR_WAIT) if awaiting_second_factor else policy.absolute
    )
    row = AuthSession(
        id_hash=digest(raw),
        member_id=subject_id if kind == "member" else None,
        staff_id=subject_id if kind == "staff" else None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        client_address=client_address,
        user_agent=(user_agent or "")[:400] or None,
        fresh_sign_in=fresh_sign_in,
        awaiting_second_factor=awaiting_second_factor,
    )
    db.add(row)
    await db.flush()
    return raw


async def renew(db: AsyncSession, row: AuthSession, *, now: datetime, fresh_sign_in: bool) -> str:
    """The member of `row` proved who they are again in the same browser (OpenID Connect's
    prompt=login or max_age asks for it): the session goes on — its `sid`, and what the vendors
    were given — so nobody is signed out of anything, under a new id (one planted or seen before
    is worthless), signed in as of now. Returns the new raw id."""
    raw = new_secret()
    row.id_hash = digest(raw)
    row.created_at = row.last_seen_at = now  # the sign-in time OpenID Connect's auth_time reports
    row.fresh_sign_in = fresh_sign_in
    db.add(row)
    await db.flush()
    return raw


async def current(
    db: AsyncSession,
    kind: Kind,
    raw: str | None,
    *,
    now: datetime,
    policy: Policy,
    client_address: str | None,
) -> AuthSession | None:
    """The live `kind` session with this raw id, or None. Ends it if it has timed out."""
    if raw is None:
        return None
    row = (await db.exec(select(AuthSession).where(AuthSession.id_hash == digest(raw)))).first()
    # A member's id never opens a staff session, nor the reverse.
    if row is None or row.ended_at is not None or _subject(row, kind) is None:
        return None
    expiry = _expiry(row, now, policy)
    if expiry is not None:
        await end(db, row, now=now, reason=expiry)
        staff = await db.get(Staff, row.staff_id) if row.staff_id is not None else None
        await audit.record(
            db,
            "session.expired",
            member_id=row.member_id,
            staff_email=staff.email if staff else None,
            client_address=client_address,
            reason=expiry,
            kind=kind,
        )
        return None
    if _touch_due(row, now):
        row.last_seen_at = now
        db.add(row)
    return row


# The silent re-issue's look-up, on its raw connection (db.connection()): one round trip.
def find_statement(id_hash: str) -> str:
    """FIND with the raw id's hash as parameter `id_hash` ($1, $2…), for a statement that
    reads the session next to other things (enhanced/requests.WITH_SESSION)."""
    return f"""
SELECT id, member_id, staff_id, created_at, last_seen_at, expires_at, ended_at, fresh_sign_in
FROM auth_session WHERE id_hash = {id_hash}
"""  # noqa: S608 - a parameter's number; every value is a parameter


FIND = find_statement("$1")


@dataclass(frozen=True, slots=True)
class SessionRef:
    """A session as the silent re-issue reads it: a plain record, not an ORM object."""

    id: int
    member_id: int | None
    staff_id: int | None
    created_at: datetime | None
    last_seen_at: datetime | None
    expires_at: datetime | None
    ended_at: datetime | None
    fresh_sign_in: bool


@dataclass(frozen=True)
class Found:
    row: SessionRef
    expiry: str | None  # the timeout that has passed: current() must end it, with its audit


async def find(conn: Any, kind: Kind, raw: str, *, now: datetime, policy: Policy) -> Found | None:
    """The open `kind` session with this raw id, read only: for the silent re-issue, which
    leaves a timed-out one (rare) to current() to end and audit."""
    record = await conn.fetchrow(FIND, digest(raw))
    return found_in(record, kind, now=now, policy=policy) if record is not None else None


# FIND's columns, which a statement reading them next to others names with FOUND_PREFIX.
FOUND_COLUMNS = tuple(field.name for field in fields(SessionRef))
FOUND_PREFIX = "session_"


def found_in(
    record: Mapping[str, Any], kind: Kind, *, now: datetime, policy: Policy, prefix: str = ""
) -> Found | None:
    """find()'s answer from a row holding FIND's columns (under `prefix`), None when it holds
    no session (a NULL id)."""
    if record[f"{prefix}id"] is None:
        return None
    row = SessionRef(*(record[f"{prefix}{name}"] for name in FOUND_COLUMNS))
    if row.ended_at is not None or _subject(row, kind) is None:
        return None
    return Found(row, _expiry(row, now, policy))


async def touch_if_due(conn: Any, row: SessionRef, now: datetime) -> None:
    if _touch_due(row, now):
        await conn.execute("UPDATE auth_session SET last_seen_at = $1 WHERE id = $2", now, row.id)


def _touch_due(row: AuthSession | SessionRef, now: datetime) -> bool:
    return row.last_seen_at is None or now - row.last_seen_at >= TOUCH_INTERVAL


def _subject(row: AuthSession | SessionRef, kind: Kind) -> int | None:
    return row.member_id if kind == "member" else row.staff_id


def _expiry(row: AuthSession | SessionRef, now: datetime, policy: Policy) -> str | None:
    if row.expires_at is None or now >= row.expires_at:
        return "absolute_timeout"
    if row.last_seen_at is None or now - row.last_seen_at >= policy.idle:
        return "idle_timeout"
    return None


async def end(db: AsyncSession, row: AuthSession, *, now: datetime, reason: str) -> bool:
    """End a session on the server, queue the back-channel logout of every vendor it reached
    (portal/single_logout.py), and let every front end withdraw what it issued in it (its
    `session_ended`, portal/front_ends.py: unredeemed Enhanced tokens void, OpenID Connect
    grants revoked — offline access outlives a timeout), all in the caller's transaction. Every
    way a session ends comes through here. True when this call ended it; False when it had ended
    already (then nothing is queued or withdrawn again)."""
    # One conditional UPDATE decides which of concurrent ends (two sign-outs, a sign-out and a
    # replay) ends the session, so the vendors are told exactly once.
    ended = await db.exec(
        update(AuthSession)
        .where(col(AuthSession.id) == row.id, col(AuthSession.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason)
        .returning(col(AuthSession.id))
        .execution_options(synchronize_session=False)
    )
    won = ended.first() is not None
    await db.refresh(row, ["ended_at", "end_reason"])
    if won and row.member_id is not None:
        await single_logout.enqueue(db, id_of(row), now=now)
        await front_ends.session_ended(db, id_of(row), now=now, reason=reason)
    return won


async def end_all(
    db: AsyncSession,
    kind: Kind,
    subject_id: int,
    *,
    now: datetime,
    reason: str,
    keep: int | None = None,
) -> int:
    """End every open session of one member or staff account but `keep` (a session id);
    returns how many were open. What a member's front ends issued that outlives a session ends
    too (OpenID Connect's offline access, from sessions that ended long ago included): every site
    lets them go."""
    subject = col(AuthSession.member_id if kind == "member" else AuthSession.staff_id)
    rows = await db.exec(
        select(AuthSession).where(
            subject == subject_id,
            col(AuthSession.ended_at).is_(None),
            col(AuthSession.id) != (keep if keep is not None else -1),
        )
    )
    ended = 0
    for row in rows.all():
        ended += await end(db, row, now=now, reason=reason)
    if kind == "member":
        await front_ends.member_signed_out(
            db, subject_id, now=now, reason=reason, keep_session=keep
        )
    return ended


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
    used = await session_vendors.vendors_used(
        db, [row.id for row, _ in rows[:size] if row.id is not None]
    )
    found = [ActiveSession(row, member, used.get(row.id or 0, [])) for row, member in rows[:size]]
    older = found[-1].session.id if len(rows) > size else None
    return SessionPage(found, older)


async def select_member_session(db: AsyncSession, session_id: int) -> AuthSession | None:
    row = await db.get(AuthSession, session_id)
    return row if row is not None and row.member_id is not None else None
