"""RP-Initiated Logout 1.0: a vendor sends the member here to sign out of the portal. A request
whose ID token hint names the member's current portal session signs out at once; any other is
asked first, on a portal page (§2: "Sign out of all sites?"), so that a link or an image on any
site cannot sign a member out of everything. The browser goes back to the vendor only at a
post-logout redirect URI registered exactly for the client the request names."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import audit, clock, db, session_cookies, settings, vendor_redirect_uris, vendors
from portal.auth.models import AuthSession
from portal.models import Vendor
from portal.oidc import answers, id_tokens, post_as_get

blueprint = Blueprint("oidc_logout", __name__)
PATH = "/oidc/logout"
CONFIRM_PATH = "/oidc/logout/confirm"
# What the confirmation page carries on to its POST, to be read and checked again there.
PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


@dataclass(frozen=True)
class LogoutRequest:
    values: dict[str, str]  # the request's parameters (of PARAMETERS), as given
    vendor: Vendor | None  # the OpenID Connect vendor it names, if it can be trusted
    problem: str | None  # why the browser is not sent back to the vendor, for the member
    back_to: str | None  # the post-logout redirect URI, registered exactly for the vendor
    sid: str | None  # the portal session the (valid) ID token hint names
    unproven: str | None  # why the hint does not prove the request is the member's: audited


@blueprint.post(PATH)
async def logout_by_post() -> ResponseReturnValue:
    """A POSTed logout becomes the same GET, which carries the SameSite=Lax session cookie."""
    return await post_as_get.redirect_to_get(PATH)


@blueprint.get(PATH)
async def logout() -> ResponseReturnValue:
    async with db.transaction() as db_session:
        asked = await read(db_session, request.args)
        portal_session = await session_cookies.current(db_session, "member")
        # With no portal session there is nothing to ask: the request goes on as it came.
        if portal_session is not None and (reason := unconfirmed(asked, portal_session)):
            # Any page on the web can cause this event: capped like an anonymous request's.
            await audit.record_anonymous(
                db_session, "oidc.logout_asked", now=clock.now(),
                vendor_key=asked.vendor.key if asked.vendor else None,
                member_id=portal_session.member_id, client_address=request.remote_addr,
                reason=reason,
            )  # fmt: skip
            return await confirmation_page(db_session, asked)
        await sign_out(db_session, asked)
    return await go_on(asked)


@blueprint.post(CONFIRM_PATH)
async def confirmed() -> ResponseReturnValue:
    """The member's "Sign out" on the confirmation page: a form of ours, so its CSRF token is
    checked (portal/security.py); the request it carries on is read again."""
    form = await request.form
    async with db.transaction() as db_session:
        asked = await read(db_session, form)
        await sign_out(db_session, asked)
    return await go_on(asked)


def unconfirmed(asked: LogoutRequest, portal_session: AuthSession) -> str | None:
    """Why the member must be asked first (§2), or None: a valid hint naming the current
    session shows the member's own site asking, which nobody else can."""
    if asked.unproven is not None:
        return asked.unproven
    return None if asked.sid == portal_session.sid else "other_session"


async def sign_out(db_session: AsyncSession, asked: LogoutRequest) -> None:
    await session_cookies.sign_out_member(
        db_session, vendor_key=asked.vendor.key if asked.vendor else None, via="OpenID Connect"
    )


async def go_on(asked: LogoutRequest) -> ResponseReturnValue:
    """After the sign-out: back to the vendor (with its state), or the portal's signed-out
    page, which names the sites signed out too, or says why the member was not sent back."""
    if asked.back_to:
        state = asked.values.get("state")
        separator = "&" if "?" in asked.back_to else "?"
        query = f"{separator}{urlencode({'state': state})}" if state else ""
        return redirect(session_cookies.after_sign_out(f"{asked.back_to}{query}"), 303)
    if asked.problem is None:
        return redirect(session_cookies.after_sign_out("/signed-out"), 303)
    # Through the vendors told through the browser first, where the session reached any.
    ends_at = {"url": "/signed-out", "notice": asked.problem}
    if chain := session_cookies.through_the_browser(ends_at):
        return redirect(chain, 303)
    return await render_template("sso/signed_out.html", notice=asked.problem)


async def confirmation_page(db_session: AsyncSession, asked: LogoutRequest) -> ResponseReturnValue:
    """The page "Sign out of all sites?": Sign out posts the request on; Stay signed in goes
    back to the vendor's registered post-logout address without `state` (so the vendor can tell
    that nothing was done here), or, without one, to the portal's home."""
    page = await render_template(
        "oidc/logout_confirm.html",
        vendor=asked.vendor,
        fields=asked.values,
        stay=asked.back_to or "/",
    )
    domains = await vendors.select_domains(db_session, asked.vendor) if asked.vendor else []
    return page, 200, answers.page_policy(asked.back_to, domains)


async def read(db_session: AsyncSession, args: MultiDict[str, str]) -> LogoutRequest:
    values = {name: args[name] for name in PARAMETERS if args.get(name)}
    hint = values.get("id_token_hint")
    found = None
    if hint:
        found = await id_tokens.read_hint(
            db_session, hint, issuer=answers.issuer(), now=clock.now(), settings=settings.current()
        )
    vendor, problem = await requesting_vendor(db_session, hint, found, values.get("client_id"))
    target, back_to = values.get("post_logout_redirect_uri"), None
    if target and problem is None:
        if vendor is None:
            problem = "The request did not say which site it came from."
        elif target not in await vendor_redirect_uris.select_redirect_uris(
            db_session, vendor, "post_logout"
        ):
            problem = f"That return address is not registered for {vendor.name}."
        else:
            back_to = target
    sid = found.get("sid") if found else None
    unproven = "no_hint" if not hint else None if found else "id_token_hint"
    return LogoutRequest(
        values, vendor, problem, back_to, sid if isinstance(sid, str) else None, unproven
    )


async def requesting_vendor(
    db_session: AsyncSession, hint: str | None, found: dict[str, Any] | None, client_id: str | None
) -> tuple[Vendor | None, str | None]:
    """The OpenID Connect vendor the request names (by its ID token, or its client_id, which
    must then agree), or why it cannot be trusted."""
    audience: str | None = None
    if hint:
        if found is None:
            return None, "The sign-out request carried an ID token the portal did not issue."
        aud = found["aud"]
        audience = aud if isinstance(aud, str) else (aud[0] if len(aud) == 1 else None)
    if client_id and audience and client_id != audience:
        return None, "The sign-out request named two different sites."
    key = client_id or audience
    vendor = await vendors.select_vendor_by_key(db_session, key) if key else None
    if key and (vendor is None or vendor.protocol != "oidc" or not vendor.enabled):
        return None, "The sign-out request came from a site the portal does not know."
    return vendor, None
