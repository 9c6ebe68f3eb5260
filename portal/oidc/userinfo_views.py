"""The UserInfo endpoint (OpenID Connect Core §5.3): the member's claims for a bearer access
token (RFC 6750), filtered by the vendor's returned fields and the scope the token gives within
what the vendor may have today (portal/oidc/scopes.py)."""

from datetime import datetime
from typing import Any

from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import api_budgets, audit, claims, clock, db, pairwise, settings, vendors
from portal.oidc import access_tokens, callers, id_tokens, scopes
from portal.oidc.protocol_errors import OAuthError

blueprint = Blueprint("oidc_userinfo", __name__)
REALM = 'Bearer realm="portal"'
BAD_TOKENS = "oidc-bad-token"  # the network budget of unknown, expired or revoked tokens


@blueprint.route("/oidc/userinfo", methods=["GET", "POST"])
async def userinfo() -> dict[str, Any]:
    raw = await bearer_token()
    now = clock.now()
    async with db.transaction() as db_session:
        found = await access_tokens.access(db_session, raw, now=now)
        if found is None:
            answer: dict[str, Any] | OAuthError = await refused(db_session, raw, now)
        else:
            answer = await released(db_session, found, now)
    if isinstance(answer, OAuthError):
        raise answer
    return answer


async def released(
    db_session: AsyncSession, found: access_tokens.Access, now: datetime
) -> dict[str, Any] | OAuthError:
    """The claims, for one call of the vendor's budget."""
    budget = api_budgets.of_vendor(found.vendor.key, settings.current())
    too_many = await callers.spent(db_session, budget, now)
    if too_many is not None:
        return too_many
    fields = [choice.field for choice in await vendors.select_fields(db_session, found.vendor)]
    pairwise_key = await pairwise.key_for(
        db_session, found.vendor.pairwise_subject, settings=settings.current()
    )
    sub = id_tokens.subject(found.vendor, found.member.imis_id, pairwise_key)
    granted = claims.parse_scope(scopes.granted(found.scope, found.vendor))
    return {"sub": sub, **claims.member_claims(found.member, fields, granted, now.date())}


async def refused(db_session: AsyncSession, raw: str, now: datetime) -> OAuthError:
    """A token that gives nothing: one call of the caller's network's budget, and why, audited
    (capped per network: anyone can send these)."""
    budget = api_budgets.of_network(BAD_TOKENS, request.remote_addr, settings.current())
    too_many = await callers.spent(db_session, budget, now)
    if too_many is not None:
        return too_many
    why = await access_tokens.why_access_failed(db_session, raw, now=now)
    await audit.record_anonymous(
        db_session, "oidc.userinfo_rejected", now=now, vendor_key=why.vendor_key,
        member_id=why.member_id, client_address=request.remote_addr, reason=why.reason,
    )  # fmt: skip
    return unauthorized("invalid_token", "The access token is unknown, expired or revoked.")


async def bearer_token() -> str:
    """The access token from the Authorization header, or a POSTed form's `access_token`
    (RFC 6750 §2.1, §2.2); never the query string, where logs and Referer headers keep it."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    form = await request.form if request.method == "POST" else {}
    posted = form.get("access_token", "") if form else ""
    if header and scheme.lower() == "bearer" and value.strip() and not posted:
        return value.strip()
    if posted and not header:
        return str(posted)
    if "access_token" in request.args:
        raise unauthorized("invalid_request", "Send the access token in the Authorization header.")
    if header or posted:
        raise unauthorized("invalid_request", "Send one bearer access token.")
    # RFC 6750 §3.1: a request with no credentials at all gets the challenge and no error code
    # (it may not have known a token was needed); the body's sentence is for its developer.
    raise OAuthError(401, "", "An access token is required.", **{"WWW-Authenticate": REALM})


def unauthorized(error: str, description: str) -> OAuthError:
    challenge = f'{REALM}, error="{error}", error_description="{description}"'
    return OAuthError(
        401 if error == "invalid_token" else 400,
        error,
        description,
        **{"WWW-Authenticate": challenge},
    )
