"""The authorization endpoint (OpenID Connect Core §3.1.2): code flow only, PKCE S256, exact
redirect URIs; the member's portal session is the one the Enhanced flow uses, and a member
without one signs in on the shared sign-in page, which continues the request afterwards. A
request with prompt=consent shows the member what the site will receive before any code."""

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, redirect, render_template, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import (
    access_refusals,
    audit,
    clock,
    db,
    members,
    pairwise,
    session_cookies,
    settings,
    vendors,
)
from portal.auth.models import AuthSession
from portal.errors import PortalError
from portal.models import id_of
from portal.oidc import (
    answers,
    authorization,
    fresh_sign_in,
    grants,
    id_tokens,
    post_as_get,
    registration,
)
from portal.oidc.authorization import AuthorizationRequest
from portal.oidc.protocol_errors import ACCESS_RULE_REFUSED, BadAuthorization, RedirectError
from portal.security import CSRF_FIELD

blueprint = Blueprint("oidc_authorize", __name__)
PATH = "/oidc/authorize"
CONSENT_PATH = "/oidc/authorize/consent"
CONTINUE, CANCEL = "continue", "cancel"


@blueprint.post(PATH)
async def authorize_by_post() -> ResponseReturnValue:
    """A POSTed request (§3.1.2.1 allows it) becomes the same GET, so the member is not asked to
    sign in again, and prompt=none is answered rightly."""
    return await post_as_get.redirect_to_get(PATH)


@blueprint.get(PATH)
async def authorize() -> ResponseReturnValue:
    return await handle(request.args, consent=None)


@blueprint.post(CONSENT_PATH)
async def consent() -> ResponseReturnValue:
    """The member's answer on the consent page: a form of ours, so its CSRF token is checked
    (portal/security.py), and the request it carries on is checked again like any other."""
    form = await request.form
    choice = form.get("answer")
    if choice not in (CONTINUE, CANCEL):
        raise PortalError("Choose Continue or Cancel on the page before this one.")
    carried = [(k, v) for k, v in form.items(multi=True) if k not in ("answer", CSRF_FIELD)]
    return await handle(MultiDict(carried), consent=choice)


async def handle(args: MultiDict[str, str], consent: str | None) -> ResponseReturnValue:
    now = clock.now()
    async with db.transaction() as db_session:
        try:
            auth = await authorization.read(
                db_session, args, issuer=answers.issuer(), now=now, settings=settings.current()
            )
        except BadAuthorization as refusal:
            await record_refusal(db_session, refusal.vendor_key, refusal.reason)
            refused = refusal
        except RedirectError as error:
            await record_refusal(
                db_session, error.vendor.key if error.vendor else None, error.reason
            )
            return await error_answer(db_session, error)
        else:
            return await answer(db_session, auth, now, consent)
    raise refused


async def answer(
    db_session: AsyncSession, auth: AuthorizationRequest, now: datetime, consent: str | None
) -> ResponseReturnValue:
    portal_session = await session_cookies.current(db_session, "member")
    if portal_session is None:
        return await sign_in_first(db_session, auth, now, other_member=False)
    other = await names_another_member(db_session, auth, portal_session)
    if fresh_sign_in.needs_sign_in(auth, portal_session, now, other_member=other):
        return await sign_in_first(db_session, auth, now, other_member=other)
    refusal = await refused_by_rule(db_session, auth, portal_session, now)
    if refusal is not None:
        return refusal
    if consent is None and "consent" in auth.prompt:
        return await consent_page(db_session, auth)
    if consent == CANCEL:
        await audit.record(
            db_session, "oidc.rejected", "failure", vendor_key=auth.vendor.key,
            member_id=portal_session.member_id, client_address=request.remote_addr,
            reason="access_denied",
        )  # fmt: skip
        declined: dict[str, str | None] = {
            "error": "access_denied",
            "error_description": "The member chose not to continue.",
        }
        return await respond(db_session, auth, declined)
    code = await issue(db_session, auth, portal_session, now, consented=consent == CONTINUE)
    return await respond(db_session, auth, {"code": code})


async def names_another_member(
    db_session: AsyncSession, auth: AuthorizationRequest, portal_session: AuthSession
) -> bool:
    """Whether the request's id_token_hint names another member than the session's: its `sub`
    against the session member's `sub` at this vendor (pairwise ones included)."""
    if auth.hint_subject is None or portal_session.member_id is None:
        return False
    member = await members.select_member_by_id(db_session, portal_session.member_id)
    if member is None:
        return True
    pairwise_key = await pairwise.key_for(
        db_session, auth.vendor.pairwise_subject, settings=settings.current()
    )
    return id_tokens.subject(auth.vendor, member.imis_id, pairwise_key) != auth.hint_subject


async def sign_in_first(
    db_session: AsyncSession, auth: AuthorizationRequest, now: datetime, *, other_member: bool
) -> ResponseReturnValue:
    """The shared sign-in page, which continues this request; with prompt=none, no page but
    login_required (Core §3.1.2.6)."""
    if "none" in auth.prompt:
        reason = "other_member" if other_member else "login_required"
        await audit.record_anonymous(
            db_session, "oidc.login_required", now=now, vendor_key=auth.vendor.key,
            client_address=request.remote_addr, reason=reason,
        )  # fmt: skip
        described = "The member signed in is not the one the id_token_hint names."
        refusal: dict[str, str | None] = {
            "error": "login_required",
            "error_description": described if other_member else "The member is not signed in.",
        }
        return await respond(db_session, auth, refusal)
    # A request that names its member asks for a sign-in made for it: whoever signs in then is
    # the member the site gets, and the sign-in page is shown even to a signed-in member.
    fresh = auth.wants_fresh_sign_in() or auth.hint_subject is not None
    mark = fresh_sign_in.mark(now) if fresh else None
    return redirect("/sign-in?" + urlencode({"next": auth.continuation(mark)}), 303)


async def refused_by_rule(
    db_session: AsyncSession, auth: AuthorizationRequest, portal_session: AuthSession, now: datetime
) -> ResponseReturnValue | None:
    """The vendor's access rule, decided before any code: a member it refuses gets the refusal
    page, whose way back is access_denied to the vendor — or, asked with prompt=none, that
    answer at once (Core §3.1.2.6 allows no page). This decides which answer; what guarantees
    is the redemption's statement (grants.IN_FORCE), so a code issued as the rule changes is
    never redeemed."""
    if portal_session.member_id is None:
        return None
    decision = await access_refusals.decision_for(
        db_session, auth.vendor, portal_session.member_id, now=now
    )
    if decision.allowed:
        return None
    passive = "none" in auth.prompt
    await access_refusals.record(
        db_session, auth.vendor, portal_session.member_id, decision, front_end="oidc",
        client_address=request.remote_addr, passive=passive,
    )  # fmt: skip
    denied: dict[str, str | None] = {
        "error": "access_denied",
        "error_description": ACCESS_RULE_REFUSED,
        "state": auth.state,
    }
    if passive:
        return await respond(db_session, auth, denied)
    domains = await vendors.select_domains(db_session, auth.vendor)
    return await answers.refusal_page(
        auth.vendor, decision, auth.redirect_uri, auth.response_mode, denied, domains
    )


async def consent_page(db_session: AsyncSession, auth: AuthorizationRequest) -> ResponseReturnValue:
    """prompt=consent (Core §3.1.2.1): what the site will receive, in the member's words, with
    Continue and Cancel. Shown only when asked for: the association decides what each vendor
    receives, so there is nothing to remember between requests."""
    words = [registration.MEMBER_SCOPE_WORDS[scope] for scope in auth.scopes]
    page = await render_template(
        "oidc/consent.html", vendor=auth.vendor, words=words, fields=auth.values
    )
    domains = await vendors.select_domains(db_session, auth.vendor)
    return page, 200, answers.page_policy(auth.redirect_uri, domains)


async def issue(
    db_session: AsyncSession,
    auth: AuthorizationRequest,
    portal_session: AuthSession,
    now: datetime,
    *,
    consented: bool,
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
    details: dict[str, Any] = {"consented": True} if consented else {}
    if auth.not_granted:  # what the site asked for and did not get, for its developers
        details["not_granted"] = " ".join(auth.not_granted)[:200]
    await audit.record(
        db_session,
        "oidc.authorized",
        vendor_key=auth.vendor.key,
        member_id=portal_session.member_id,
        client_address=request.remote_addr,
        scope=" ".join(auth.scopes),
        response_mode=auth.response_mode,
        **details,
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
