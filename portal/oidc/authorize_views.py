"""The authorization endpoint (OpenID Connect Core §3.1.2): code flow only, PKCE S256, exact
redirect URIs; the member's portal session is the one the Enhanced flow uses, and a member
without one signs in on the shared sign-in page, which continues the request afterwards."""

from datetime import datetime
from urllib.parse import urlencode

from quart import Blueprint, redirect, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, db, session_cookies, vendors
from portal.models import AuthSession, id_of
from portal.oidc import answers, authorization, fresh_sign_in, grants
from portal.oidc.authorization import AuthorizationRequest
from portal.oidc.protocol_errors import BadAuthorization, RedirectError

blueprint = Blueprint("oidc_authorize", __name__)
PATH = "/oidc/authorize"


@blueprint.post(PATH)
async def authorize_by_post() -> ResponseReturnValue:
    """A POSTed request (§3.1.2.1 allows it) becomes the same GET: a cross-site POST carries no
    SameSite=Lax session cookie, while the GET it is redirected to, a top-level navigation,
    does — so the member is not asked to sign in again, and prompt=none is answered rightly."""
    form = await request.form
    return redirect(f"{PATH}?{urlencode(list(form.items(multi=True)))}", 303)


@blueprint.get(PATH)
async def authorize() -> ResponseReturnValue:
    now = clock.now()
    async with db.transaction() as db_session:
        try:
            auth = await authorization.read(db_session, request.args)
        except BadAuthorization as refusal:
            await record_refusal(db_session, refusal.vendor_key, refusal.reason)
            refused = refusal
        except RedirectError as error:
            await record_refusal(
                db_session, error.vendor.key if error.vendor else None, error.reason
            )
            return await error_answer(db_session, error)
        else:
            return await answer(db_session, auth, now)
    raise refused


async def answer(
    db_session: AsyncSession, auth: AuthorizationRequest, now: datetime
) -> ResponseReturnValue:
    portal_session = await session_cookies.current(db_session, "member")
    if portal_session is None or fresh_sign_in.needs_sign_in(auth, portal_session, now):
        if "none" in auth.prompt:
            await audit.record_anonymous(
                db_session, "oidc.login_required", now=now, vendor_key=auth.vendor.key,
                client_address=request.remote_addr, reason="login_required",
            )  # fmt: skip
            refusal: dict[str, str | None] = {
                "error": "login_required",
                "error_description": "The member is not signed in.",
            }
            return await respond(db_session, auth, refusal)
        mark = fresh_sign_in.mark(now) if auth.wants_fresh_sign_in() else None
        return redirect("/sign-in?" + urlencode({"next": auth.continuation(mark)}), 303)
    code = await issue(db_session, auth, portal_session, now)
    return await respond(db_session, auth, {"code": code})


async def issue(
    db_session: AsyncSession, auth: AuthorizationRequest, portal_session: AuthSession, now: datetime
) -> str:
    if portal_session.member_id is None or portal_session.created_at is None:
        raise ValueError("codes come only from member sessions")
    code = await grants.issue_code(
        db_session,
        grants.NewGrant(
            vendor_id=id_of(auth.vendor),
            member_id=portal_session.member_id,
            session_id=id_of(portal_session),
            redirect_uri=auth.redirect_uri,
            scope=" ".join(auth.scopes),
            nonce=auth.nonce,
            code_challenge=auth.code_challenge,
            auth_time=portal_session.created_at,
        ),
        now=now,
    )
    await audit.record(
        db_session,
        "oidc.authorized",
        vendor_key=auth.vendor.key,
        member_id=portal_session.member_id,
        client_address=request.remote_addr,
        scope=" ".join(auth.scopes),
        response_mode=auth.response_mode,
    )
    return code


async def respond(
    db_session: AsyncSession, auth: AuthorizationRequest, params: dict[str, str | None]
) -> ResponseReturnValue:
    domains = await vendors.select_domains(db_session, auth.vendor)
    params = {**params, "state": auth.state}
    return await answers.to_vendor(
        auth.vendor, auth.redirect_uri, auth.response_mode, params, domains
    )


async def error_answer(db_session: AsyncSession, error: RedirectError) -> ResponseReturnValue:
    if error.vendor is None:
        raise ValueError("a redirect error needs its vendor")
    domains = await vendors.select_domains(db_session, error.vendor)
    params: dict[str, str | None] = {
        "error": error.error,
        "error_description": error.description,
        "state": error.state,
    }
    return await answers.to_vendor(
        error.vendor, error.redirect_uri, error.response_mode, params, domains
    )


async def record_refusal(db_session: AsyncSession, vendor_key: str | None, reason: str) -> None:
    await audit.record_anonymous(
        db_session, "oidc.rejected", now=clock.now(), vendor_key=vendor_key,
        client_address=request.remote_addr, reason=reason,
    )  # fmt: skip
