"""The member and staff session cookies on the current request (quart-auth), for every front end.

A cookie carries only a session's random id, signed by quart-auth; the row behind it
(portal/auth/sessions.py) is checked on every request, so sign-out, revocation and timeouts take
effect at once. A member's sign-out in this browser also keeps, in the signed session cookie,
which session ended (for the signed-out page) and the vendors still to be told through the
browser (`Chain`)."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, SignatureExpired
from quart import Quart, after_this_request, current_app, g, request, session
from quart_auth import Action, AuthUser, QuartAuth
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, front_ends, signed_cookies
from portal.auth import sessions
from portal.auth.models import AuthSession
from portal.auth.sessions import Kind
from portal.security import rotate_csrf
from portal.settings import Settings

SIGNED_OUT_SESSION = "signed_out_session"
SIGN_OUT_CHAIN = "sign_out_chain"
SIGN_OUT_NOTICE = "sign_out_notice"


class LazyAuth(QuartAuth):
    """quart-auth's session cookie, decoded only by the requests that ask who is signed in, and
    written only by those that sign in or out: quart-auth's own answer hook runs on every
    request, decoding the cookie to learn that nothing changed."""

    def __init__(self, app: Quart, **options: Any) -> None:
        self._serializers: dict[tuple[str | bytes, ...], Any] = {}
        self._checked = signed_cookies.Checked()
        super().__init__(app, **options)

    def init_app(self, app: Quart) -> None:
        super().init_app(app)
        app.after_request_funcs[None].remove(self.after_request)  # see login_user

    def login_user(self, user: AuthUser) -> None:
        super().login_user(user)
        self._write_cookie_on_answer()

    def logout_user(self) -> None:
        super().logout_user()
        self._write_cookie_on_answer()

    def _write_cookie_on_answer(self) -> None:
        """quart-auth's answer hook (which writes or deletes the cookie as the request's last
        change says), for this request only, once."""
        pending = f"{self.attribute_name}_pending"
        if not g.get(pending):
            setattr(g, pending, True)
            after_this_request(self.after_request)  # type: ignore[arg-type]  # a Quart Response

    def load_token(self, token: str, app: Quart | None = None) -> str | None:
        """quart-auth's, with the serializer built once per set of keys (building one runs a
        test serialisation, and quart-auth builds one per request) and the signature checked once
        per process (portal/signed_cookies.py), the age every time."""
        app = app or current_app
        # The current key last: itsdangerous signs with the last and verifies with all.
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        serializer = self._serializers.get(keys)
        if serializer is None:
            salt = self.salt or ""  # never empty: init_app sets the one given, or its default
            serializer = self._serializers[keys] = self.serializer_class(list(keys), salt)
        try:
            found: str | None = self._checked.loads(serializer, token, self.duration)
        except (BadSignature, SignatureExpired):
            return None
        return found


def init_app(app: Quart, settings: Settings) -> None:
    app.extensions["session_policy"] = sessions.Policy.from_settings(settings)
    production = not settings.development
    for kind in ("member", "staff"):
        # __Host- cookies must be Secure, host-only and Path=/: no subdomain can plant or read them.
        name = f"__Host-portal_{kind}" if production else f"portal_{kind}"
        app.extensions[f"{kind}_auth"] = LazyAuth(
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


def policy() -> sessions.Policy:
    """The running app's session timeouts (PORTAL_SESSION_IDLE_MINUTES, _MAX_HOURS)."""
    result: sessions.Policy = current_app.extensions["session_policy"]
    return result


async def current(db: AsyncSession, kind: Kind) -> AuthSession | None:
    """The live session this request's cookie names, or None (a timed-out one is ended)."""
    return await _current(db, kind, clock.now())


def raw_id(kind: Kind) -> str | None:
    """The session id this request's cookie carries (its signature checked), if any."""
    raw: str | None = _auth(kind).load_user().auth_id
    return raw


async def _current(db: AsyncSession, kind: Kind, now: datetime) -> AuthSession | None:
    raw = raw_id(kind)
    return await sessions.current(
        db, kind, raw, now=now, policy=policy(), client_address=request.remote_addr
    )


async def begin(
    db: AsyncSession,
    kind: Kind,
    subject_id: int,
    *,
    fresh_sign_in: bool = False,
    awaiting_second_factor: bool = False,
) -> None:
    """After a good sign-in: a new session under a new id, and a new CSRF token. The session the
    cookie named before, if any, ends (its vendors are told: single logout) — unless it is the
    same member's, signing in again, whose session goes on under a new id. Either way an id
    planted or seen before the sign-in is worthless."""
    now = clock.now()
    previous = await _current(db, kind, now)
    if previous is not None and kind == "member" and previous.member_id == subject_id:
        raw = await sessions.renew(db, previous, now=now, fresh_sign_in=fresh_sign_in)
        _auth(kind).login_user(AuthUser(raw, Action.WRITE))
        rotate_csrf()
        return
    if previous is not None:
        await sessions.end(db, previous, now=now, reason="replaced")
    raw = await sessions.start(
        db,
        kind,
        subject_id,
        now=now,
        policy=policy(),
        client_address=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        fresh_sign_in=fresh_sign_in,
        awaiting_second_factor=awaiting_second_factor,
    )
    _auth(kind).login_user(AuthUser(raw, Action.WRITE))  # a browser-session cookie
    rotate_csrf()


async def end(db: AsyncSession, kind: Kind, *, reason: str) -> AuthSession | None:
    """Sign out: the cookie's session ends (and is returned, when it was live); the cookie goes."""
    now = clock.now()
    row = await _current(db, kind, now)
    _auth(kind).logout_user()
    if row is not None:
        await sessions.end(db, row, now=now, reason=reason)
    return row


async def sign_out_member(
    db: AsyncSession, *, vendor_key: str | None, via: str | None = None
) -> AuthSession | None:
    """A member's sign-out, for every front end: the cookie's session ends (with all it
    issued) and the event is audited; a sign-out without a session changes nothing, so it is
    audited with the cap on anonymous requests. `via` names the protocol when not Enhanced.
    The vendors told through the browser (SAML's front-channel chain) are planned here, in the
    signed session cookie; the caller ends through `after_sign_out`, which goes through them."""
    details = {"via": via} if via else {}
    portal_session = await end(db, "member", reason="sign_out")
    if portal_session is None:
        await audit.record_anonymous(
            db, "sign_out", "success", now=clock.now(), vendor_key=vendor_key,
            client_address=request.remote_addr, had_session=False, **details,
        )  # fmt: skip
        session.pop(SIGN_OUT_CHAIN, None)
        return None
    await audit.record(
        db,
        "sign_out",
        member_id=portal_session.member_id,
        vendor_key=vendor_key,
        client_address=request.remote_addr,
        had_session=True,
        **details,
    )
    # For the signed-out page that follows (which sites were signed out): in the signed session
    # cookie, so a browser cannot make that page describe another member's session.
    session[SIGNED_OUT_SESSION] = portal_session.id
    await _plan_the_chain(db, portal_session.id or 0, begun_at=vendor_key)
    return portal_session


def signed_out_session_id() -> int | None:
    """The member session this browser last signed out of, if any."""
    found = session.get(SIGNED_OUT_SESSION)
    return found if isinstance(found, int) else None


@dataclass(frozen=True)
class Chain:
    """A sign-out going on through the member's browser (SAML's front-channel chain: SAML
    Profiles §4.4): the vendors told through the browser, one after the other, then where the
    sign-out ends. Kept in the signed session cookie, so a browser can neither forge it nor make
    it speak of another member's session; and only for the session that ended in this browser."""

    session_id: int  # the portal session that ended
    path: str  # the front end's path that leads the browser on (front_ends.BrowserSignOut)
    to_visit: tuple[int, ...]  # vendor ids still to visit, in order
    in_flight: tuple[int, str] | None  # (vendor id, the ID of the message awaiting its answer)
    told: tuple[tuple[int, bool], ...]  # (vendor id, whether it answered that it signed out)
    final: dict[str, Any] | None  # where the sign-out ends, once its view has said so

    def answered(self, vendor_id: int, signed_out: bool) -> "Chain":
        return replace(self, in_flight=None, told=(*self.told, (vendor_id, signed_out)))


async def _plan_the_chain(db: AsyncSession, session_id: int, *, begun_at: str | None) -> None:
    planned = await front_ends.browser_sign_out(db, session_id, begun_at=begun_at)
    if planned is None:
        session.pop(SIGN_OUT_CHAIN, None)
        return
    path, vendor_ids = planned
    keep_chain(Chain(session_id, path, tuple(vendor_ids), None, (), None))


def sign_out_chain() -> Chain | None:
    """The chain this browser's cookie carries, if any."""
    found = session.get(SIGN_OUT_CHAIN)
    if not isinstance(found, dict):
        return None
    in_flight = found.get("in_flight")
    return Chain(
        session_id=found["session_id"],
        path=found["path"],
        to_visit=tuple(found["to_visit"]),
        in_flight=None if in_flight is None else (in_flight[0], in_flight[1]),
        told=tuple((vendor_id, ok) for vendor_id, ok in found["told"]),
        final=found.get("final"),
    )


def keep_chain(chain: Chain) -> None:
    session[SIGN_OUT_CHAIN] = {
        "session_id": chain.session_id,
        "path": chain.path,
        "to_visit": list(chain.to_visit),
        "in_flight": None if chain.in_flight is None else list(chain.in_flight),
        "told": [list(pair) for pair in chain.told],
        "final": chain.final,
    }


def through_the_browser(final: dict[str, Any]) -> str | None:
    """After a member's sign-out in this browser: the path that leads it through the vendors told
    through the browser, to end at `final`; None when there are none to visit (go to `final`)."""
    chain = sign_out_chain()
    if chain is None or not chain.to_visit or chain.in_flight is not None or chain.final:
        return None
    keep_chain(replace(chain, final=final))
    return chain.path


def after_sign_out(url: str, *, notice: str | None = None) -> str:
    """Where the browser goes after a sign-out that ends at `url` (a path of the portal's or an
    address already checked): through the vendors told through the browser first, if any.
    `notice`, when the sign-out ends at the signed-out page, is shown there."""
    return through_the_browser({"url": url, "notice": notice}) or url


def chain_ends_at(chain: Chain) -> str:
    """The chain's end, where it ends at an address (`after_sign_out`): that address, with its
    notice kept for the signed-out page."""
    final = chain.final or {}
    if final.get("notice"):
        session[SIGN_OUT_NOTICE] = final["notice"]
    return str(final.get("url") or "/signed-out")


def sign_out_notice() -> str | None:
    """The notice a chain's end left for the signed-out page, once."""
    found = session.pop(SIGN_OUT_NOTICE, None)
    return found if isinstance(found, str) else None


def told_through_browser(session_id: int) -> dict[int, bool]:
    """For the signed-out page: the vendors told of the session's end through this browser, and
    whether each answered that it signed the member out."""
    chain = sign_out_chain()
    if chain is None or chain.session_id != session_id:
        return {}
    return dict(chain.told)
