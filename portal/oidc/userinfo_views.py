"""The UserInfo endpoint (OpenID Connect Core §5.3): the member's claims for a bearer access
token (RFC 6750), filtered by the vendor's returned fields and the scope the token gives within
what the vendor may have today (portal/oidc/scopes.py)."""

from datetime import datetime
from typing import Any

from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    access_refusals,
    api_budgets,
    audit,
    claims,
    clock,
    db,
    good_standing,
    pairwise,
    rate_limits,
    settings,
)
from portal.oidc import access_tokens, callers, scopes
from portal.oidc.protocol_errors import ACCESS_RULE_REFUSED, OAuthError, too_many

blueprint = Blueprint("oidc_userinfo", __name__)
REALM = 'Bearer realm="portal"'
BAD_TOKENS = "oidc-bad-token"  # the network budget of unknown, expired or revoked tokens


@blueprint.route("/oidc/userinfo", methods=["GET", "POST"])
async def userinfo() -> dict[str, Any]:
    """A live token is one round trip on a raw connection (access_tokens.LIVE); the rare
    outcomes — a refused token, a vendor over its budget — are worked out and audited in
    ordinary transactions afterwards."""
    raw = await bearer_token()
    now = clock.now()
    async with db.connection() as conn:
        found = await access_tokens.access(conn, raw, now=now)
    if found is None:
        async with db.transaction() as db_session:
            refusal = await refused(db_session, raw, now)
        raise refusal
    budget = api_budgets.of_vendor(found.vendor.key, settings.current())
    if found.hits > budget.per_minute:
        async with db.transaction() as db_session:
            retry = await api_budgets.over(
                db_session, budget, found.hits, now=now, client_address=request.remote_addr
            )
        raise too_many(retry or rate_limits.retry_after(now))
    return await released(found, now)


async def released(found: access_tokens.Access, now: datetime) -> dict[str, Any]:
    """The claims the token gives today."""
    pairwise_key = b""
    if found.vendor.pairwise_subject:
        async with db.transaction() as db_session:  # read once per process (pairwise.py)
            pairwise_key = await pairwise.stored_key(db_session, settings=settings.current())
    sub = claims.member_subject(
        found.vendor.key, found.vendor.pairwise_subject, found.member.imis_id, pairwise_key
    )
    granted = claims.parse_scope(scopes.granted(found.scope, found.vendor))
    return {
        "sub": sub,
        **claims.member_claims(
            found.member, found.fields, granted, good_standing.terms(settings.current(), now)
        ),
    }


async def refused(db_session: AsyncSession, raw: str, now: datetime) -> OAuthError:
    """A token that gives nothing: one call of the caller's network's budget, and why, audited
    (capped per network: anyone can send these)."""
    budget = api_budgets.of_network(BAD_TOKENS, request.remote_addr, settings.current())
    too_many = await callers.spent(db_session, budget, now)
    if too_many is not None:
        return too_many
    why = await access_tokens.why_access_failed(db_session, raw, now=now)
    if why.by_rule is not None:
        # One event for every refusal by a vendor's access rule, whichever front end and step
        # (docs/oidc.md): not capped per network, since only a real token reaches it.
        by_rule = why.by_rule
        await access_refusals.record(
            db_session, by_rule.vendor, by_rule.member_id, by_rule.decision, front_end="oidc",
            client_address=request.remote_addr,
        )  # fmt: skip
        return unauthorized("invalid_token", ACCESS_RULE_REFUSED)
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
