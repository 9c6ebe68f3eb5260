"""RP-Initiated Logout 1.0: a vendor sends the member here to sign out of the portal. The
member is always signed out (as at /sso/signout); the browser goes back to the vendor only at a
post-logout redirect URI registered exactly for the client the request names."""

from urllib.parse import urlencode

from quart import Blueprint, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import clock, db, session_cookies, settings, vendors
from portal.models import Vendor
from portal.oidc import answers, id_tokens

blueprint = Blueprint("oidc_logout", __name__)
PATH = "/oidc/logout"


@blueprint.post(PATH)
async def logout_by_post() -> ResponseReturnValue:
    """A POSTed logout becomes the same GET, which carries the SameSite=Lax session cookie."""
    form = await request.form
    return redirect(f"{PATH}?{urlencode(list(form.items(multi=True)))}", 303)


@blueprint.get(PATH)
async def logout() -> ResponseReturnValue:
    args = request.args
    async with db.transaction() as db_session:
        vendor, problem = await requesting_vendor(
            db_session, args.get("id_token_hint"), args.get("client_id")
        )
        await session_cookies.sign_out_member(
            db_session, vendor_key=vendor.key if vendor else None, via="OpenID Connect"
        )
        target = args.get("post_logout_redirect_uri")
        if target and problem is None:
            if vendor is None:
                problem = "The request did not say which site it came from."
            elif target not in await vendors.select_redirect_uris(
                db_session, vendor, "post_logout"
            ):
                problem = f"That return address is not registered for {vendor.name}."
    if target and problem is None:
        state = args.get("state")
        query = urlencode({"state": state}) if state else ""
        separator = "&" if "?" in target else "?"
        return redirect(f"{target}{separator}{query}" if query else target, 303)
    if problem is None:  # the portal's signed-out page, which names the sites signed out too
        return redirect("/signed-out", 303)
    return await render_template("sso/signed_out.html", notice=problem)


async def requesting_vendor(
    db_session: AsyncSession, hint: str | None, client_id: str | None
) -> tuple[Vendor | None, str | None]:
    """The OpenID Connect vendor the request names (by its ID token, or its client_id, which
    must then agree), or why it cannot be trusted."""
    audience: str | None = None
    if hint:
        found = await id_tokens.read_hint(
            db_session, hint, issuer=answers.issuer(), now=clock.now(), settings=settings.current()
        )
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
