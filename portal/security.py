"""Security headers on every response (no-store on all but static files), and CSRF protection
for every form."""

import hmac
import secrets

from quart import Quart, Response, abort, request, session

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
# turned into the same GET (portal/oidc), which acts exactly as a link to it would.
NO_CSRF_PATHS = ("/api/", "/oidc/")
# ...except the member's own answers on the portal's pages there ("Sign out of all sites?",
# "Continue to …?"): forms of ours, which another site must not be able to post for the member.
MEMBER_FORMS = frozenset({"/oidc/logout/confirm", "/oidc/authorize/consent"})


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


async def refuse_nul() -> None:
    """No real input contains U+0000, and PostgreSQL text cannot store it: refuse it here, with
    a 400, rather than fail deep inside a query with a 500. The API answers (and audits) bad
    input in its own protocol's terms, so it is left to do that."""
    if request.path.startswith("/api/"):
        return
    texts = [request.path, *(v for _, v in request.args.items(multi=True))]
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
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.before_request(refuse_nul)
    app.before_request(check_csrf)

    @app.after_request
    async def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy())
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.endpoint != "static" and not response.cache_control.public:
            # Every other answer is personal or a step of a sign-in: a kept dashboard page is
            # shown again on Back after sign-out, and a kept 303 between /sign-in and
            # /sso/signin sends Back round in a loop. Static files keep their caching, and so
            # do the answers their view marks public (OpenID Connect's discovery and keys).
            headers["Cache-Control"] = "no-store"
        if production:
            # Browsers then refuse plain http to the portal for a year.
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
