"""Security headers on every response (no-store on all but static files), and CSRF protection
for every form."""

import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from quart import Quart, abort, request, session
from quart.sessions import SecureCookieSession, SecureCookieSessionInterface
from quart.wrappers import BaseRequestWebsocket

from portal import signed_cookies
from portal.settings import Settings

# No inline script or style anywhere: an injected tag cannot run.
BASE_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",  # no page of ours may be framed (clickjacking the sign-in)
    "form-action": "'self'",
}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# The API authenticates with HTTP Basic, not cookies: nothing to forge. OpenID Connect's
# endpoints are posted to by other sites by design: the token and UserInfo endpoints take a
# client's credentials or a bearer token, and a POSTed authorization or logout request is only
# turned into the same GET (portal/oidc), which acts exactly as a link to it would. So are
# SAML's (the HTTP-POST binding): a posted AuthnRequest becomes the same GET, and a posted
# LogoutRequest acts only when the vendor's signature verifies (portal/saml).
NO_CSRF_PATHS = ("/api/", "/oidc/", "/saml/")
# ...except the member's own answers on the portal's pages there ("Sign out of all sites?",
# "Continue to …?", a SAML site opened from "My sites"): forms of ours, which another site must
# not be able to post for the member (a SAML sign-in the member did not choose: login CSRF).
MEMBER_FORMS = frozenset({"/oidc/logout/confirm", "/oidc/authorize/consent", "/saml/start"})


def headers_for_every_answer(production: bool) -> tuple[tuple[str, str], ...]:
    """What every answer carries unless its view set its own, worked out once."""
    found: tuple[tuple[str, str], ...] = (
        ("Content-Security-Policy", content_security_policy()),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    )
    if production:
        # Browsers then refuse plain http to the portal for a year.
        found += (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)
    return found


CACHE_CONTROL, NO_STORE = b"cache-control", b"no-store"
Headers = list[tuple[bytes, bytes]]


class AnswerHeaders:
    """Adds what every answer carries unless its view set its own, in the one pass the ASGI
    middleware (portal/observe.py) makes over an answer's headers: the names and values encoded
    once, so an answer costs a set of its header names and one list."""

    def __init__(self, production: bool, static_route: str | None) -> None:
        self.every = tuple(
            (name.lower().encode(), value.encode())
            for name, value in headers_for_every_answer(production)
        )
        self.names = frozenset(name for name, _ in self.every) | {CACHE_CONTROL}
        self.static_route = static_route
        self.with_no_store = (*self.every, (CACHE_CONTROL, NO_STORE))

    def __call__(self, headers: Headers, route: str | None) -> Headers:
        """`headers` of an answer to a request that matched `route` (its pattern, or None), with
        what it lacks added."""
        present = {name.lower() for name, _ in headers}
        static = route is not None and route == self.static_route
        if not static and present.isdisjoint(self.names):  # nearly every answer
            return [*headers, *self.with_no_store]
        added = [(name, value) for name, value in self.every if name not in present]
        if not static and not any(public(v) for n, v in headers if n.lower() == CACHE_CONTROL):
            # Every other answer is personal or a step of a sign-in: a kept dashboard page is
            # shown again on Back after sign-out, and a kept 303 between /sign-in and
            # /sso/signin sends Back round in a loop. Static files keep their caching, and so
            # do the answers their view marks public (OpenID Connect's discovery and keys, SAML's
            # metadata).
            headers = [(n, v) for n, v in headers if n.lower() != CACHE_CONTROL]
            added.append((CACHE_CONTROL, NO_STORE))
        return [*headers, *added]


def public(cache_control: bytes) -> bool:
    return any(d.strip().lower() == b"public" for d in cache_control.split(b","))


def answer_headers(app: Quart, settings: Settings) -> AnswerHeaders:
    """The security headers of the app's answers, for the ASGI middleware to add."""
    static = (
        [rule.rule for rule in app.url_map.iter_rules("static")] if app.has_static_folder else []
    )
    return AnswerHeaders(not settings.development, static[0] if static else None)


class SessionCookie(SecureCookieSessionInterface):
    """Quart's signed session cookie (the CSRF token), its serializer built once per set of keys:
    Quart builds one per request, and building one runs a test serialisation. Its signature is
    checked once per process (portal/signed_cookies.py; 5 % of a silent re-issue), its age on
    every request."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}
        self._checked = signed_cookies.Checked()

    async def open_session(
        self, app: Quart, request: BaseRequestWebsocket
    ) -> SecureCookieSession | None:
        """An empty session when the request has no cookie, asked first: werkzeug's
        cookies.get() raises and catches a BadRequestKeyError (costly to build) for each."""
        name = self.get_cookie_name(app)
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        if name not in request.cookies:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = self._checked.loads(serializer, request.cookies[name], max_age)
        except BadSignature:  # expired ones too
            return self.session_class()
        return self.session_class(data)  # a copy: the checked payload is kept as it was

    def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]


def content_security_policy(**overrides: str) -> str:
    policy = {**BASE_CSP, **{key.replace("_", "-"): value for key, value in overrides.items()}}
    return "; ".join(f"{directive} {value}" for directive, value in policy.items())


def csrf_token() -> str:
    """The token forms carry; it lives in the signed session cookie (synchroniser pattern)."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    token: str = session[CSRF_FIELD]
    return token


def rotate_csrf() -> None:
    """A new CSRF token at every sign-in: a token seen before it (say, planted by someone who
    used the browser earlier) is worthless afterwards."""
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


async def check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    if request.path.startswith(NO_CSRF_PATHS) and request.path not in MEMBER_FORMS:
        return
    expected = session.get(CSRF_FIELD)
    form = await request.form
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD) or ""
    if not expected or not hmac.compare_digest(str(expected), sent):
        abort(403, "This form has expired or did not come from this site. Reload and try again.")


async def check_request() -> None:
    """What every request is checked for, in one hook: Quart's machinery costs each app-wide
    hook on every request."""
    await refuse_nul()
    await check_csrf()


async def refuse_nul() -> None:
    """No real input contains U+0000, and PostgreSQL text cannot store it: refuse it here, with
    a 400, rather than fail deep inside a query with a 500. The API answers (and audits) bad
    input in its own protocol's terms, so it is left to do that."""
    path = request.path
    if path.startswith("/api/"):
        return
    texts = [path]
    query = request.query_string
    # Only a NUL byte or %00 in the raw query string reads as U+0000: without one, it is not
    # parsed here (the requests that use it parse it anyway).
    if b"\x00" in query or b"%00" in query:
        texts += (v for _, v in request.args.items(multi=True))
    if request.method in UNSAFE_METHODS:
        texts += (v for _, v in (await request.form).items(multi=True))
    if any("\x00" in text for text in texts):
        abort(400, "The request contains a NUL character, which no field accepts.")


def init_app(app: Quart, settings: Settings) -> None:
    production = not settings.development
    app.config.update(
        SESSION_COOKIE_NAME="__Host-portal_csrf" if production else "portal_csrf",
        SESSION_COOKIE_SECURE=production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
    )
    app.session_interface = SessionCookie()
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.before_request(check_request)
