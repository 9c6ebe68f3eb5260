"""The demo vendor site ("Acme Learning"): the reference integration of the README's "For vendors".

A separate small Quart app on its own origin. Read it top to bottom; each step says why.
1. `signin_url`: a link to the portal's /sso/signin with our vendor key, a ReturnURL (a deep link
   into our site) and a state bound to this browser.
2. `receive_token`: the POST handler at our registered token URL; it checks the state first.
3. `redeem`: a server-to-server POST to /api/sso/user that swaps the one-time token for the member.
4. `sign_out`: end our session, then the portal's, through /sso/signout.
5. `vendor_logout.py`: the portal's back-channel sign-out ends our session when the portal
   session it came from ends elsewhere: the member object's `sid` names that portal session.
`check` shows `passive=1` (is the member signed in at the portal? ask without a form), and
`forget` drops our session only, to show the portal signing the member back in silently.
Everything else is an ordinary website with its own session cookie.
"""

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from quart import (
    Blueprint,
    Quart,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
)
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from portal.demo import vendor_logout
from portal.demo.content import CATALOGUES, Catalogue

ROOT = Path(__file__).resolve().parent.parent.parent
log = logging.getLogger(__name__)
blueprint = Blueprint("vendor", __name__)  # the pages every demo vendor shows
enhanced = Blueprint("enhanced_sign_in", __name__)  # steps 1-4: how this one signs members in


@dataclass(frozen=True)
class VendorSite:
    key: str  # our vendor key at the portal
    secret: str  # our API secret: server side only, never in a page, a URL or a log
    name: str
    site_url: str  # our own origin, e.g. http://localhost:8001
    portal_url: str  # the association's portal, e.g. http://127.0.0.1:8000
    association: str
    cookie_secret: str  # signs our own session cookie
    theme: str = "acme"

    @property
    def catalogue(self) -> Catalogue:
        return CATALOGUES[self.theme]

    @property
    def state_cookie(self) -> str:
        # Cookies ignore the port: two demo vendors on localhost need different cookie names.
        return f"{self.key}_sso_state"

    @property
    def used_state_cookie(self) -> str:
        return f"{self.key}_sso_state_used"


@dataclass(frozen=True)
class SignInMethod:
    """How a demo site signs members in: its routes, its sign-in link (`link(path, passive=…)`),
    the panel that shows what the portal shared, and the member's name from it."""

    blueprint: Blueprint
    link: Callable[..., str]
    member_panel: str
    display_name: Callable[[dict[str, Any]], str]


def create_vendor_app(site: VendorSite, method: "SignInMethod | None" = None) -> Quart:
    method = method or ENHANCED
    app = Quart(
        __name__,
        template_folder=str(ROOT / "templates" / "demo"),
        static_folder=str(ROOT / "static" / "demo"),
        static_url_path="/static",
    )
    app.secret_key = site.cookie_secret
    app.config.update(
        VENDOR_SITE=site,
        SESSION_COOKIE_NAME=f"{site.key}_session",
        SESSION_COOKIE_HTTPONLY=True,
        # Lax: another site cannot post our forms (sign-out, forget) with our cookie attached.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=site.site_url.startswith("https://"),
    )
    app.config["SIGN_IN_LINK"] = method.link
    app.jinja_env.globals.update(
        site=site, signin_url=method.link, member_panel=method.member_panel
    )
    app.jinja_env.filters["display_name"] = method.display_name
    app.context_processor(lambda: {"member": signed_in_member()})
    app.register_blueprint(blueprint)
    app.register_blueprint(vendor_logout.blueprint)
    app.register_blueprint(method.blueprint)
    return app


def site() -> VendorSite:
    result: VendorSite = current_app.config["VENDOR_SITE"]
    return result


def signed_in_member() -> dict[str, Any] | None:
    member: dict[str, Any] | None = session.get("member")
    return member


@blueprint.before_app_request
async def canonical_origin() -> ResponseReturnValue | None:
    """One origin only: our cookies, ReturnURLs and token URL all name it, so a visitor who
    came in by another name (127.0.0.1 for localhost) is sent there before anything starts."""
    ours = urlsplit(site().site_url)
    if request.host != ours.netloc:
        return redirect(site().site_url + request.full_path.rstrip("?"), 308)
    return None


# Step 1 ------------------------------------------------------------------------------------


def signin_url(path: str = "/", *, passive: bool = False) -> str:
    """The link that sends the member to the portal. ReturnURL is where they land afterwards
    (a page of ours, deep links welcome); state ties the answer to this browser."""
    query = {"vendor": site().key, "ReturnURL": site().site_url + path, "state": sso_state()}
    if passive:
        query["passive"] = "1"  # never a form: a token if signed in there, else login_required
    return f"{site().portal_url}/sso/signin?{urlencode(query)}"


def sso_state() -> str:
    """This browser's state for its next sign-in: random, kept in a cookie only we read back.
    A token POST whose state does not match the cookie was not started by this browser on our
    site (someone pushing their own sign-in on our visitor), so it is refused."""
    state = g.get("sso_state") or request.cookies.get(site().state_cookie)
    g.sso_state = state or secrets.token_urlsafe(32)
    return str(g.sso_state)


@enhanced.after_app_request
async def keep_state(response: Response) -> Response:
    state = g.get("sso_state")
    if state and state != request.cookies.get(site().state_cookie):
        # SameSite=None: the token arrives in a POST from the portal's origin, a cross-site
        # request, which leaves Lax and Strict cookies behind. Browsers take None only with
        # Secure, and count http://localhost as secure, so this works in development too.
        response.set_cookie(
            site().state_cookie, state, max_age=3600, secure=True, httponly=True, samesite="None"
        )
    return response


# Step 2 ------------------------------------------------------------------------------------


@enhanced.post("/sso/token")
async def receive_token() -> ResponseReturnValue:
    form = await request.form
    expected = request.cookies.get(site().state_cookie, "")
    if not same_state(expected, form.get("state")):
        if same_state(request.cookies.get(site().used_state_cookie), form.get("state")):
            return posted_again(form.get("ReturnURL"), form.get("error"))
        abort(400, "This sign-in did not start in this browser, or it is too old. Sign in again.")
    return_to = own_page(form.get("ReturnURL"))
    if form.get("error") == "login_required":  # our passive=1 request: no portal session
        response = redirect(with_query(return_to, sso="login_required"), 303)
    elif form.get("token"):
        member = await redeem(form["token"])
        session.clear()  # a fresh session at every sign-in, never one a visitor brought along
        # Step 5: the portal session this sign-in came from; a logout token naming it ends ours.
        session["sid"] = member.pop("sid", None)
        session["member"] = member
        response = redirect(return_to, 303)
    else:
        abort(400, "The portal's answer carried neither a token nor an error we know.")
    # A state works once: the next sign-in gets a new one. We keep it as used, only to know
    # the same answer when Back brings it again (posted_again).
    response.delete_cookie(site().state_cookie, secure=True, httponly=True, samesite="None")
    response.set_cookie(
        site().used_state_cookie,
        expected,
        max_age=3600,
        secure=True,
        httponly=True,
        samesite="None",
    )
    return response


def same_state(kept: str | None, posted: str | None) -> bool:
    """A state we kept, and the one the answer carries: equal, compared in constant time."""
    return bool(kept) and hmac.compare_digest(str(kept).encode(), (posted or "").encode())


def posted_again(return_url: str | None, error: str | None) -> ResponseReturnValue:
    """Back after a sign-in re-visits the portal, which (the member still signed in there)
    answers our used state again, with a new token. The sign-in is done: send the member on to
    the page, and redeem nothing — a state works once, and a second sign-in is not what Back
    means. Our session cookie (Lax) is not sent with this cross-site POST, so the page, asked
    for next, shows what is true: the member signed in, or the page of a visitor who signed
    out since. The session is not touched here (docs/vendors.md, step 2)."""
    return_to = own_page(return_url)
    if error == "login_required":
        return redirect(with_query(return_to, sso="login_required"), 303)
    return redirect(return_to, 303)


def own_page(url: str | None) -> str:
    """Where to go after the POST. The ReturnURL came back through the browser, so we follow it
    only to a page of our own site (no open redirect); our home page otherwise."""
    ours = urlsplit(site().site_url)
    if url and url.isascii() and url.isprintable() and " " not in url:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) == (ours.scheme, ours.netloc):
            return url
    return site().site_url + "/"


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit(parts._replace(query=query))


# Step 3 ------------------------------------------------------------------------------------


async def redeem(token: str) -> dict[str, Any]:
    """Swap the one-time token for the member object, server to server, at once and only once
    (a second try counts as a stolen token and ends the member's portal session). A POST keeps
    the token out of access logs; HTTP Basic carries our key and secret."""
    try:
        # A real site keeps one client for its lifetime; one per sign-in keeps the demo short.
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"{site().portal_url}/api/sso/user",
                data={"token": token},
                auth=(site().key, site().secret),
            )
        member = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("the portal's user service failed: %s", type(exc).__name__)
        abort(502, "We could not reach the association's portal. Try again in a moment.")
    if response.status_code == 400:  # invalid_token: expired, used already, or not ours
        abort(400, "This sign-in has expired or was used already. Sign in again.")
    if response.status_code != 200 or not isinstance(member, dict):
        # Log the status and the error code, never the token or our secret.
        log.warning("the portal's user service answered %s", response.status_code)
        abort(502, "The association's portal did not confirm the sign-in. Try again later.")
    return member


# Step 4 ------------------------------------------------------------------------------------


@enhanced.post("/sign-out")
async def sign_out() -> ResponseReturnValue:
    """End our session, then the portal's, so the member is signed out everywhere; the portal
    then sends them back to our ReturnURL."""
    session.clear()
    await flash(f"You are signed out of {site().name} and of {site().association}.")
    query = urlencode({"vendor": site().key, "ReturnURL": site().site_url + "/"})
    return redirect(f"{site().portal_url}/sso/signout?{query}", 303)


# The pages ---------------------------------------------------------------------------------


@blueprint.get("/")
async def home() -> ResponseReturnValue:
    return await render_template("home.html")


@enhanced.get("/sso/start")
async def start_sign_in() -> ResponseReturnValue:
    """Our sign-in start page, for the portal's "My sites": a sign-in begun here carries our
    state, so its token is one we asked for."""
    return redirect(signin_url("/"), 303)


@blueprint.get("/catalogue/<slug>")
async def item(slug: str) -> ResponseReturnValue:
    """Members only: an anonymous visitor sees the sign-in link, with this page as ReturnURL."""
    found = site().catalogue.find(slug)
    if found is None:
        abort(404, f"There is no such {site().catalogue.noun} here.")
    return await render_template("item.html", item=found)


@blueprint.get("/check")
async def check() -> ResponseReturnValue:
    """Is the visitor signed in at the portal? Ask with passive=1: the portal answers at once,
    with a token (we sign them in here too) or with error=login_required, never with a form."""
    outcome = request.args.get("sso")
    if signed_in_member() is None and outcome is None:
        link: Callable[..., str] = current_app.config["SIGN_IN_LINK"]
        return redirect(link("/check", passive=True), 303)
    return await render_template("check.html", not_signed_in=outcome == "login_required")


@blueprint.post("/forget")
async def forget() -> ResponseReturnValue:
    """Demo only: drop our own session and keep the portal's, to show a silent re-issue."""
    session.clear()
    await flash(
        f"{site().name} forgot your session. You are still signed in at {site().association}: "
        "sign in again and no password is asked."
    )
    return redirect("/", 303)


@blueprint.after_app_request
async def security_headers(response: Response) -> Response:
    # Browsers apply form-action to the redirects after a POST too: sign-out continues to the
    # portal, so the portal's origin is allowed besides our own.
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; form-action 'self' {site().portal_url}; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        # Every page shows who is signed in, so none is kept by the browser: Back after sign-out
        # asks us again (no page of the signed-in member comes back), and so does the redirect
        # Back after a sign-in ends on (not the page kept from before it, anonymous).
        response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.app_errorhandler(HTTPException)
async def error_page(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    return await render_template("error.html", status=status, message=error.description), status


@blueprint.app_errorhandler(Exception)
async def unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return await render_template("error.html", status=500, message="Something went wrong."), 500


def display_name(member: dict[str, Any]) -> str:
    """The member object holds the fields the association chose for us, under the names it
    chose: show the best name there is."""
    first_last = " ".join(str(member[k]) for k in ("FirstName", "LastName") if member.get(k))
    best = member.get("FullName") or first_last or member.get("Email") or member.get("ImisId")
    return str(best or "member")


ENHANCED = SignInMethod(enhanced, signin_url, "_member.html", display_name)
