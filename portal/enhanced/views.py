"""The Enhanced SSO flow a member's browser follows: /sso/signin, the token-post page and
/sso/signout; and, for now, the portal's own member pages (/sign-in, /sign-out, /signed-out, /)
that the OpenID Connect front end will share (docs/layout.md); the account page is
account_views.py."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from markupsafe import escape
from quart import Blueprint, Response, current_app, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import (
    audit,
    clock,
    continuations,
    db,
    device_cookies,
    good_standing,
    members,
    session_cookies,
    settings,
    vendor_redirect_uris,
    vendors,
)
from portal.auth import sessions, throttle
from portal.auth import sign_in as auth_sign_in
from portal.auth.accounts import Account
from portal.auth.models import AuthSession
from portal.auth.sign_in import Attempt
from portal.enhanced import access_refused, requests, signed_out, tokens
from portal.enhanced.requests import SsoRequest
from portal.models import Member, Vendor
from portal.security import content_security_policy
from portal.urls import form_action_sources

blueprint = Blueprint("sso", __name__)
WRONG_CREDENTIALS = "The username or password is not right."
UNAVAILABLE = (
    "Sign-in is temporarily unavailable: the membership system is not answering. "
    "Please try again in a few minutes."
)


async def member_session(db_session: AsyncSession) -> AuthSession | None:
    return await session_cookies.current(db_session, "member")


async def read_request(values: MultiDict[str, str]) -> SsoRequest:
    """The vendor's request, validated in a transaction of its own; a bad one is audited (in
    the next, so the record survives the refusal) and answered with a 400 page by the error
    handler."""
    try:
        async with db.connection() as conn:
            return await requests.read(conn, values, development=settings.current().development)
    except requests.BadRequest as exc:
        await record_refusal(exc)
        raise


async def record_refusal(refusal: requests.BadRequest) -> None:
    event = "return_url.rejected" if refusal.reason == "return_url" else "sso.rejected"
    async with db.transaction() as audit_session:
        await audit.record_anonymous(
            audit_session,
            event,
            now=clock.now(),
            vendor_key=refusal.vendor_key,
            client_address=request.remote_addr,
            reason=refusal.reason,
        )


async def optional_request(values: MultiDict[str, str]) -> SsoRequest | None:
    """The sign-in page serves a vendor's request when it carries one, else the portal itself."""
    if not any(name.lower() in requests.PARAMETERS for name in values):
        return None
    return await read_request(values)


@blueprint.get("/sso/signin")
async def sso_signin() -> ResponseReturnValue:
    try:
        reissued = await silent_reissue(request.args)
    except requests.BadRequest as exc:
        await record_refusal(exc)
        raise
    sso = reissued.sso
    if reissued.token is not None:
        return await token_post(sso, token=reissued.token)
    if reissued.refused is not None:
        vendor, decision = await access_refused.recorded(sso, reissued.refused)
        if sso.passive:  # the vendor asked for no page: the protocol's own error (§3)
            return await token_post(sso, error="access_denied")
        return await access_refused.page(sso, vendor, decision)
    async with db.transaction() as db_session:
        if sso.passive:
            await audit.record_anonymous(
                db_session,
                "sso.passive",
                now=clock.now(),
                vendor_key=sso.vendor.key,
                client_address=request.remote_addr,
                reason="login_required",
            )
            return await token_post(sso, error="login_required")
    return redirect(f"/sign-in?{sso.query()}", 303)


@dataclass(frozen=True)
class Reissued:
    """A silent re-issue's outcome: the request and the token — or none, and either the member
    whom the vendor's access rule refused, or no live session at all."""

    sso: SsoRequest
    token: str | None = None
    refused: int | None = None  # the member's id, when the access rule refused them


async def silent_reissue(values: MultiDict[str, str]) -> Reissued:
    """The vendor's request and, for a member with a live portal session whom the vendor's
    access rule lets in, a token: two round trips on one raw connection (the vendor with the
    session, the token with its audit event — the rule decided in that same statement). A
    session found timed out is left to session_cookies.current() to end and audit (rare)."""
    raw_id = session_cookies.raw_id("member")
    now, current, policy = clock.now(), settings.current(), session_cookies.policy()
    async with db.connection() as conn:
        if raw_id is None:
            return Reissued(await requests.read(conn, values, development=current.development))
        sso, row = await requests.read_with_session(
            conn, values, raw_id, development=current.development
        )
        found = sessions.found_in(
            row, "member", now=now, policy=policy, prefix=sessions.FOUND_PREFIX
        )
        if found is not None and found.expiry is None:
            await sessions.touch_if_due(conn, found.row, now)
            token = await tokens.issue(
                conn,
                sso.vendor,
                found.row,
                now=now,
                ttl=timedelta(seconds=current.token_ttl_seconds),
                terms=good_standing.terms(current, now),
                client_address=request.remote_addr,
            )
            return Reissued(sso, token, refused=found.row.member_id if token is None else None)
    if found is not None:
        async with db.transaction() as db_session:
            await member_session(db_session)
    return Reissued(sso)


async def token_post(
    sso: SsoRequest, *, token: str | None = None, error: str | None = None
) -> Response:
    """Protocol §3: a form that posts itself to the vendor's token_url, and nowhere else."""
    fields = {"token": token, "error": error, "ReturnURL": sso.return_url, "state": sso.state}
    given = {name: value for name, value in fields.items() if value is not None}
    page, policy = await token_post_page(sso, tuple(given), error)
    for name, value in given.items():
        page = page.replace(field_marker(name), str(escape(value)))
    response = Response(page)
    response.headers["Content-Security-Policy"] = policy
    return response


# Every silent re-issue answers with this page: it is rendered once per vendor (its name, token
# URL and domains) and set of fields, with an unguessable marker where each field's value goes,
# and each answer puts the values in, escaped as the template's autoescape escapes them. A
# vendor's name or URL cannot hold the marker: it is chosen at random when the process starts.
# Kept per app (its settings, such as the association's name, are in the page).
MARKER = secrets.token_hex(16)
PAGES_KEPT = 256
PAGES = "token_post_pages"


def field_marker(name: str) -> str:
    return f"{MARKER}:{name}:"


async def token_post_page(
    sso: SsoRequest, names: tuple[str, ...], error: str | None = None
) -> tuple[str, str]:
    """The page with a marker for each named field, and its Content-Security-Policy; its words
    say what the error (one of §3's few codes) means to the member."""
    key = (sso.vendor.name, sso.token_url, tuple(sso.domains), names, error)
    pages: dict[Any, tuple[str, str]] = current_app.extensions.setdefault(PAGES, {})
    found = pages.get(key)
    if found is None:
        # Rendered without the app's context processors (it needs none of them, and they cost
        # this hot page half a millisecond: each reads and checks the session cookies again).
        page = await current_app.jinja_env.get_template("sso/token_post.html").render_async(
            vendor=sso.vendor,
            error=error,
            action=sso.token_url,
            fields={name: field_marker(name) for name in names},
        )
        policy = content_security_policy(
            form_action=" ".join(form_action_sources(sso.token_url, sso.domains))
        )
        if len(pages) >= PAGES_KEPT:  # a vendor renamed or moved leaves its pages behind
            pages.clear()
        found = pages[key] = (page, policy)
    return found


@dataclass(frozen=True)
class Pending:
    """The request a sign-in continues (docs/layout.md: the member pages serve every protocol),
    and the name of the vendor it is for."""

    continuation: str
    vendor_name: str | None
    # Extra CSP form-action sources: browsers apply form-action to the redirects that follow
    # the sign-in POST too, and for an OpenID Connect request they end at the vendor's
    # registered redirect URI (through /oidc/authorize), on another origin.
    form_action: tuple[str, ...] = ()

    @property
    def carried(self) -> str:
        """The query that carries the request to the other member pages — help, forgot
        password, back to sign in — which read it back as `next`."""
        return "?next=" + quote(self.continuation, safe="/")


async def redirect_sources(db_session: AsyncSession, vendor: Vendor) -> tuple[str, ...]:
    """Where an OpenID Connect vendor's authorization answers may go: its registered redirect
    URIs' origins and its domains, as the answer page's own policy allows them."""
    if vendor.protocol != "oidc" or not vendor.enabled:
        return ()
    domains = await vendors.select_domains(db_session, vendor)
    uris = await vendor_redirect_uris.select_redirect_uris(db_session, vendor, "login")
    return tuple(dict.fromkeys(s for uri in uris for s in form_action_sources(uri, domains)))


def sign_in_response(pending: Pending | None, page: str, status: int = 200) -> Response:
    response = Response(page, status)
    if pending is not None and pending.form_action:
        sources = " ".join(("'self'", *pending.form_action))
        response.headers["Content-Security-Policy"] = content_security_policy(form_action=sources)
    return response


async def pending_request(values: MultiDict[str, str]) -> Pending | None:
    """An Enhanced request in the page's own parameters, or any front end's as `next`."""
    sso = await optional_request(values)
    if sso is not None:
        return Pending(f"/sso/signin?{sso.query()}", sso.vendor.name)
    continuation = continuations.checked(values.get("next"))
    if continuation is None:
        return None
    key = continuations.vendor_key(continuation)
    async with db.transaction() as db_session:
        vendor = await vendors.select_vendor_by_key(db_session, key) if key else None
        sources = await redirect_sources(db_session, vendor) if vendor else ()
    return Pending(continuation, vendor.name if vendor and vendor.enabled else None, sources)


@blueprint.get("/sign-in")
async def sign_in_page() -> ResponseReturnValue:
    pending = await pending_request(request.args)
    fresh = pending is not None and continuations.asks_fresh_sign_in(pending.continuation)
    async with db.transaction() as db_session:
        if not fresh and await member_session(db_session) is not None:
            return redirect(continuation(pending), 303)
    hint = continuations.login_hint(pending.continuation) if pending else ""
    page = await render_template("sso/sign_in.html", pending=pending, login=hint, error=None)
    return sign_in_response(pending, page)


@blueprint.post("/sign-in")
async def sign_in() -> ResponseReturnValue:
    form = await request.form
    login, password = form.get("username", "").strip()[:254], form.get("password", "")
    pending = await pending_request(form)
    attempt = Attempt(login, password, request.remote_addr, device_cookies.presented("member"))

    async def start_session(db_session: AsyncSession, account: Account) -> None:
        await session_cookies.begin(
            db_session, "member", account.id, fresh_sign_in=pending is not None
        )

    outcome = await auth_sign_in.sign_in(
        db.transaction,
        current_app.extensions["directory"],
        attempt,
        now=clock.now(),
        policy=throttle.Policy.from_settings(settings.current()),
        on_success=start_session,
    )
    if outcome.account is not None:
        response = redirect(continuation(pending), 303)
        return device_cookies.remember(response, "member", outcome.account.id)
    if outcome.unavailable:
        return await sign_in_page_with(pending, login, UNAVAILABLE, 503)
    return await refused(pending, login, outcome.verdict)


def continuation(pending: Pending | None) -> str:
    """Where a sign-in continues: the vendor's request again, or the portal's home. Always a
    path built here or checked by portal/continuations.py (no open redirect)."""
    return pending.continuation if pending else "/"


async def refused(
    pending: Pending | None, login: str, verdict: throttle.Verdict
) -> ResponseReturnValue:
    if verdict.allowed:
        return await sign_in_page_with(pending, login, WRONG_CREDENTIALS, 401)
    if verdict.locked:
        error = (
            "Too many failed attempts. This sign-in is locked; "
            f"please contact {settings.current().association_name} to unlock it."
        )
    else:
        error = f"Too many failed attempts. Please wait {verdict.wait_in_words()} and try again."
    response = await sign_in_page_with(pending, login, error, 429)
    if verdict.retry_after:
        response.headers["Retry-After"] = str(verdict.retry_after)
    return response


async def sign_in_page_with(
    pending: Pending | None, login: str, error: str, status: int
) -> Response:
    page = await render_template("sso/sign_in.html", pending=pending, login=login, error=error)
    return sign_in_response(pending, page, status)


@blueprint.get("/sso/signout")
async def sso_signout() -> ResponseReturnValue:
    """Protocol §7: always signs out; redirects only to a validated place."""
    try:
        sso = await read_request(request.args)
    except requests.BadRequest as exc:
        async with db.transaction() as db_session:
            await end_member_session(db_session, vendor_key=exc.vendor_key)
        if chain := session_cookies.through_the_browser({"url": "/signed-out", "notice": str(exc)}):
            return redirect(chain, 303)
        return await signed_out.page(notice=str(exc))
    async with db.transaction() as db_session:
        await end_member_session(db_session, vendor_key=sso.vendor.key)
    ends_at = sso.return_url or sso.vendor.signout_url or "/signed-out"
    return redirect(session_cookies.after_sign_out(ends_at), 303)


@blueprint.post("/sign-out")
async def sign_out() -> ResponseReturnValue:
    async with db.transaction() as db_session:
        await end_member_session(db_session, vendor_key=None)
    return redirect(session_cookies.after_sign_out("/signed-out"), 303)


async def end_member_session(db_session: AsyncSession, *, vendor_key: str | None) -> None:
    await session_cookies.sign_out_member(db_session, vendor_key=vendor_key)


@blueprint.get("/help")
async def sign_in_help() -> ResponseReturnValue:
    """The sign-in page's help link when PORTAL_HELP_URL is unset: what to check, whom to ask;
    the vendor's request travels on, to "Back to sign in" and "Forgot your password?"."""
    return await render_template("sso/help.html", pending=await pending_request(request.args))


@blueprint.get("/signed-out")
async def signed_out_page() -> ResponseReturnValue:
    # A notice kept by a sign-out that went through vendors' sites on its way here.
    return await signed_out.page(notice=session_cookies.sign_out_notice())


@blueprint.get("/")
async def home() -> ResponseReturnValue:
    async with db.transaction() as db_session:
        portal_session = await member_session(db_session)
        member_id = portal_session.member_id if portal_session else None
        member = await members.select_member_by_id(db_session, member_id) if member_id else None
        sites = await my_sites(db_session, member) if member else []
    return await render_template("sso/home.html", member=member, sites=sites)


async def my_sites(db_session: AsyncSession, member: Member) -> list[vendors.Site]:
    """ "My sites": each site the member can open from the portal, under each site's access rule
    today (the home page and the account page)."""
    terms = good_standing.terms(settings.current(), clock.now())
    enabled = await vendors.select_enabled_vendors(db_session)
    return await vendors.my_sites(db_session, enabled, member=member, terms=terms)
