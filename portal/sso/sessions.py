"""Server-side sessions behind quart-auth cookies, for members and for staff alike.

The cookie carries only a random id (256 bits), signed by quart-auth; the row behind it is
checked on every request, so sign-out, revocation and timeouts take effect at once."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from quart import Quart, current_app, request
from quart_auth import Action, AuthUser, QuartAuth
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit
from portal.crypto import digest, new_secret
from portal.models import AuthSession, SsoToken, Staff
from portal.settings import Settings

Kind = Literal["member", "staff"]
# Writing last_seen on every request costs a write per page; this granularity is plenty for a
# 30-minute idle timeout.
TOUCH_INTERVAL = timedelta(seconds=30)


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


def init_app(app: Quart, settings: Settings) -> None:
    production = not settings.development
    for kind in ("member", "staff"):
        # __Host- cookies must be Secure, host-only and Path=/: no subdomain can plant or read them.
        name = f"__Host-portal_{kind}" if production else f"portal_{kind}"
        app.extensions[f"{kind}_auth"] = QuartAuth(
            app,
            cookie_name=name,
            cookie_secure=production,
            cookie_samesite="Lax",
            cookie_http_only=True,
            cookie_path="/",
            cookie_domain=None,
            attribute_name=f"_{kind}_auth_user",
            salt=f"portal-{kind}-session",
            duration=settings.session_max_hours * 3600,
            singleton=False,
        )


def _auth(kind: Kind) -> QuartAuth:
    auth: QuartAuth = current_app.extensions[f"{kind}_auth"]
    return auth


async def start(
    db: AsyncSession,
    kind: Kind,
    subject_id: int,
    *,
    now: datetime,
    policy: Policy,
    fresh_sign_in: bool = False,
) -> AuthSession:
    """A fresh session (a new id at every sign-in, so a planted id is worthless) and its cookie."""
    raw = new_secret()
    row = AuthSession(
        id_hash=digest(raw),
        member_id=subject_id if kind == "member" else None,
        staff_id=subject_id if kind == "staff" else None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
        client_address=request.remote_addr,
        user_agent=(request.headers.get("User-Agent") or "")[:400] or None,
        fresh_sign_in=fresh_sign_in,
    )
    db.add(row)
    await db.flush()
    _auth(kind).login_user(AuthUser(raw, Action.WRITE))  # a browser-session cookie
    return row


async def current(
    db: AsyncSession, kind: Kind, *, now: datetime, policy: Policy
) -> AuthSession | None:
    """The live session named by this request's cookie, or None. Ends it if it has timed out."""
    raw = _auth(kind).load_user().auth_id
    if raw is None:
        return None
    row = (await db.exec(select(AuthSession).where(AuthSession.id_hash == digest(raw)))).first()
    if row is None or row.ended_at is not None:
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
            client_address=request.remote_addr,
            reason=expiry,
            kind=kind,
        )
        return None
    if row.last_seen_at is None or now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        db.add(row)
    return row


def _expiry(row: AuthSession, now: datetime, policy: Policy) -> str | None:
    if row.expires_at is None or now >= row.expires_at:
        return "absolute_timeout"
    if row.last_seen_at is None or now - row.last_seen_at >= policy.idle:
        return "idle_timeout"
    return None


async def end(db: AsyncSession, row: AuthSession, *, now: datetime, reason: str) -> None:
    """End a session on the server and void every token it issued that is not yet redeemed."""
    row.ended_at = row.ended_at or now
    row.end_reason = row.end_reason or reason
    db.add(row)
    await db.exec(
        update(SsoToken)
        .where(
            col(SsoToken.session_id) == row.id,
            col(SsoToken.redeemed_at).is_(None),
            col(SsoToken.voided_at).is_(None),
        )
        .values(voided_at=now)
    )


async def take_fresh_sign_in(db: AsyncSession, row: AuthSession) -> bool:
    """True once: for the first token after a sign-in made for a vendor's request (the password
    was typed for it); every later token of the session is a silent re-issue."""
    if not row.fresh_sign_in:
        return False
    taken = await db.exec(
        update(AuthSession)
        .where(col(AuthSession.id) == row.id, col(AuthSession.fresh_sign_in).is_(True))
        .values(fresh_sign_in=False)
        .returning(col(AuthSession.id))
    )
    return taken.first() is not None


def forget_cookie(kind: Kind) -> None:
    _auth(kind).logout_user()
