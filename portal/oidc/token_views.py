"""The token endpoint (OpenID Connect Core §3.1.3, RFC 6749 §4.1.3, §6): a code for tokens,
and a refresh token for new ones. Who may call, and what it costs: portal/oidc/callers.py; what
the tokens give: portal/oidc/scopes.py."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, claims, clock, db, pairwise, reasons, settings, signing_keys
from portal.auth.models import AuthSession
from portal.models import Member, Vendor, id_of
from portal.oidc import answers, callers, grants, id_tokens, scopes
from portal.oidc.callers import Caller, required
from portal.oidc.models import OidcGrant
from portal.oidc.protocol_errors import OAuthError

blueprint = Blueprint("oidc_token", __name__)
# RFC 7636 §4.1: 43 to 128 unreserved characters.
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
INVALID_GRANT = "The code or refresh token is unknown, expired, used or not for this client."
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
REFUSALS = {reasons.REPLAY: "oidc.code_replay", reasons.REUSE: "oidc.refresh_reuse"}


@blueprint.app_errorhandler(OAuthError)
async def oauth_error(error: OAuthError) -> tuple[dict[str, str], int, dict[str, str]]:
    return error.body(), error.status, {**NO_STORE, **error.headers}


@dataclass(frozen=True)
class Presented:
    """A code or a refresh token presented: how to use it (its grant, or None), and why not."""

    grant_type: str
    use: Callable[[AsyncSession], Awaitable[OidcGrant | None]]
    why: Callable[[AsyncSession], Awaitable[str]]
    asked_scope: str | None = None


@blueprint.post("/oidc/token")
async def token() -> tuple[dict[str, Any], int, dict[str, str]]:
    posted = await callers.form()
    now = clock.now()
    caller = await callers.authenticated(posted, now)
    try:
        presented = presentation(caller.vendor, posted, now)
    except OAuthError as error:
        await callers.malformed(caller, error, now)
    return await exchange(caller, presented, now), 200, NO_STORE


def presentation(vendor: Vendor, posted: dict[str, str], now: datetime) -> Presented:
    grant_type = posted.get("grant_type", "")
    if grant_type == "authorization_code":
        return code_presented(vendor, posted, now)
    if grant_type == "refresh_token":
        return refresh_presented(vendor, posted, now)
    if not grant_type:
        raise OAuthError(400, "invalid_request", "The grant_type parameter is missing.")
    raise OAuthError(400, "unsupported_grant_type", "Use authorization_code or refresh_token.")


def code_presented(vendor: Vendor, posted: dict[str, str], now: datetime) -> Presented:
    code, redirect_uri = required(posted, "code"), required(posted, "redirect_uri")
    verifier = required(posted, "code_verifier")
    if not VERIFIER.fullmatch(verifier):
        raise OAuthError(400, "invalid_grant", "The code_verifier is malformed.")
    binding = (code, id_of(vendor), redirect_uri, create_s256_code_challenge(verifier))
    return Presented(
        "authorization_code",
        use=lambda s: grants.redeem_code(s, *binding, now=now),
        why=lambda s: grants.why_code_failed(s, *binding, now=now),
    )


def refresh_presented(vendor: Vendor, posted: dict[str, str], now: datetime) -> Presented:
    raw, vendor_id = required(posted, "refresh_token"), id_of(vendor)
    off = not vendor.refresh_tokens  # staff took refresh tokens away: none works any more

    async def use(s: AsyncSession) -> OidcGrant | None:
        return None if off else await grants.use_refresh_token(s, raw, vendor_id, now=now)

    return Presented(
        "refresh_token",
        use=use,
        why=lambda s: grants.why_refresh_failed(s, raw, vendor_id, now=now, switched_off=off),
        asked_scope=posted.get("scope") or None,
    )


async def exchange(caller: Caller, presented: Presented, now: datetime) -> dict[str, Any]:
    """One transaction uses the code or refresh token, issues the tokens and — for a public
    client — spends its vendor's budget, or none of it happens. A refusal is worked out and
    audited in a transaction of its own."""
    try:
        async with db.transaction() as db_session:
            grant = await presented.use(db_session)
            if grant is not None:
                scope = scopes.granted(grant.scope, caller.vendor, presented.asked_scope)
                renewing = presented.grant_type == "refresh_token"
                body = await tokens_for(db_session, caller.vendor, grant, scope, now, renewing)
                event = "oidc.refreshed" if renewing else "oidc.code_redeemed"
                await record(db_session, event, caller.vendor, grant, scope)
                await callers.charge_validated(db_session, caller, now)
                return body
    except scopes.NotGranted as error:
        asked = OAuthError(400, "invalid_scope", str(error))
        await refused(caller, presented.grant_type, now, reasons.INVALID_SCOPE, asked)
    except callers.OverBudget:
        await callers.over_budget(caller, now)
    await refused(caller, presented.grant_type, now, presented.why)


async def refused(
    caller: Caller,
    grant_type: str,
    now: datetime,
    why: Callable[[AsyncSession], Awaitable[str]] | str,
    error: OAuthError | None = None,
) -> NoReturn:
    """Work out why (unless told), revoke what a replay exposed, and audit it, committed; then
    refuse."""
    async with db.transaction() as db_session:
        instead = await callers.charge_failure(db_session, caller, now)
        if instead is None:
            found = why if isinstance(why, str) else await why(db_session)
            await callers.record_refusal(
                db_session, caller, REFUSALS.get(found, "oidc.token_rejected"), now=now,
                reason=found, grant_type=grant_type,
            )  # fmt: skip
    raise instead or error or OAuthError(400, "invalid_grant", INVALID_GRANT)


async def record(
    db_session: AsyncSession, event: str, vendor: Vendor, grant: OidcGrant, scope: str
) -> None:
    await audit.record(
        db_session, event, vendor_key=vendor.key, member_id=grant.member_id,
        client_address=request.remote_addr, scope=scope,
    )  # fmt: skip


def refresh_until(
    grant: OidcGrant, portal_session: AuthSession, now: datetime, renewing: bool
) -> datetime | None:
    """Offline access: a refresh token lasting its own lifetime, renewed at each use. A refresh
    token from before offline access existed (its grant is not offline) keeps its rule: no
    longer than its portal session."""
    if grant.offline:
        return now + timedelta(days=settings.current().oidc_offline_days)
    return portal_session.expires_at if renewing else None


async def tokens_for(
    db_session: AsyncSession,
    vendor: Vendor,
    grant: OidcGrant,
    scope: str,
    now: datetime,
    renewing: bool,
) -> dict[str, Any]:
    """An access token for `scope`, an ID token and — with offline_access granted to a vendor
    whose refresh switch is on — a refresh token."""
    current = settings.current()
    member = await db_session.get(Member, grant.member_id)
    portal_session = await db_session.get(AuthSession, grant.session_id)
    if member is None or portal_session is None:  # the grant's foreign keys hold both
        raise OAuthError(400, "invalid_grant", INVALID_GRANT)
    if not renewing and claims.OFFLINE_ACCESS in scope.split():
        grant.offline = True
        db_session.add(grant)
    issued = await grants.issue_tokens(
        db_session, grant, now=now, scope=scope,
        access_ttl=timedelta(seconds=current.oidc_access_token_ttl_seconds),
        refresh_until=refresh_until(grant, portal_session, now, renewing),
    )  # fmt: skip
    id_token = await signing_keys.sign(
        db_session,
        id_tokens.claims(
            issuer=answers.issuer(), vendor=vendor, member=member, grant=grant,
            session=portal_session, access_token=issued.access_token,
            pairwise_key=await pairwise.key_for(
                db_session, vendor.pairwise_subject, settings=current
            ), now=now,
        ),
        now=now,
        settings=current,
        alg=vendor.id_token_signed_response_alg,
    )  # fmt: skip
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "id_token": id_token,
        "scope": scope,
    }
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    return body
