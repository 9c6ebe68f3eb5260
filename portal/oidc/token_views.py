"""The token endpoint (OpenID Connect Core §3.1.3, RFC 6749 §4.1.3, §6): a code for tokens,
and a refresh token for new ones. The client authenticates first; failures spend a budget of
their client network's, authenticated calls the vendor's (as at the Enhanced user service)."""

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, claims, clock, db, pairwise, rate_limits, settings, signing_keys
from portal.models import AuthSession, Member, OidcGrant, Vendor, id_of
from portal.oidc import answers, clients, grants, id_tokens
from portal.oidc.protocol_errors import OAuthError
from portal.rate_limits import client_network

blueprint = Blueprint("oidc_token", __name__)
# RFC 7636 §4.1: 43 to 128 unreserved characters.
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
INVALID_GRANT = "The code or refresh token is unknown, expired, used or not for this client."
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@blueprint.app_errorhandler(OAuthError)
async def oauth_error(error: OAuthError) -> tuple[dict[str, str], int, dict[str, str]]:
    return error.body(), error.status, {**NO_STORE, **error.headers}


@blueprint.post("/oidc/token")
async def token() -> tuple[dict[str, Any], int, dict[str, str]]:
    form = {name: value for name, value in (await request.form).items()}
    repeated = [name for name, values in (await request.form).lists() if len(values) > 1]
    if repeated:
        raise OAuthError(400, "invalid_request", f"{repeated[0]} is given more than once.")
    given = clients.presented(request.headers.get("Authorization"), form)
    now = clock.now()
    vendor = await authenticated(given, now)
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        body = await redeem(vendor, form, now)
    elif grant_type == "refresh_token":
        body = await refresh(vendor, form, now)
    else:
        raise OAuthError(400, "unsupported_grant_type", "Use authorization_code or refresh_token.")
    return body, 200, NO_STORE


async def authenticated(given: clients.Presented, now: datetime) -> Vendor:
    """The vendor that called, its call counted; a refusal is answered once its count and its
    audit event are committed."""
    async with db.transaction() as db_session:
        try:
            found = await clients.authenticate(db_session, given, now=now)
            if isinstance(found, clients.Refusal):
                await refuse_client(db_session, found, given, now)
            per_minute = settings.current().api_rate_per_minute
            await spend(db_session, f"oidc:{found.key}", per_minute, now)
            return found
        except OAuthError as error:
            refusal = error
    raise refusal


async def refuse_client(
    db_session: AsyncSession, refusal: clients.Refusal, given: clients.Presented, now: datetime
) -> NoReturn:
    current = settings.current()
    await spend(
        db_session,
        f"oidc-auth-failure:{client_network(request.remote_addr)}",
        current.api_failed_auth_per_minute,
        now,
    )
    await audit.record_anonymous(
        db_session, "oidc.client_auth", now=now,
        vendor_key=refusal.vendor.key if refusal.vendor else None,
        client_address=request.remote_addr, reason=refusal.reason, method=given.method or None,
    )  # fmt: skip
    description = "The client could not be authenticated."
    if refusal.reason == "disabled":
        description = "This site is disabled at the portal."
    raise OAuthError(401, "invalid_client", description, **{"WWW-Authenticate": clients.REALM})


async def spend(db_session: AsyncSession, bucket: str, per_minute: int, now: datetime) -> None:
    hits = await rate_limits.hit(db_session, bucket, now=now)
    if hits > per_minute:
        if hits == per_minute + 1:
            await audit.record(
                db_session, "api.rate_limited", "failure", client_address=request.remote_addr,
                bucket=bucket.partition(":")[0],
            )  # fmt: skip
        raise OAuthError(
            429, "slow_down", "Too many requests; slow down.",
            **{"Retry-After": str(rate_limits.retry_after(now))},
        )  # fmt: skip


def required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise OAuthError(400, "invalid_request", f"The {name} parameter is missing.")
    return value


async def redeem(vendor: Vendor, form: dict[str, str], now: datetime) -> dict[str, Any]:
    code, redirect_uri = required(form, "code"), required(form, "redirect_uri")
    verifier = required(form, "code_verifier")
    if not VERIFIER.fullmatch(verifier):
        raise OAuthError(400, "invalid_grant", "The code_verifier is malformed.")
    challenge = create_s256_code_challenge(verifier)
    async with db.transaction() as db_session:
        grant = await grants.redeem_code(
            db_session, code, id_of(vendor), redirect_uri, challenge, now=now
        )
        if grant is not None:
            body = await tokens_for(db_session, vendor, grant, now)
            await record(db_session, "oidc.code_redeemed", vendor, grant)
            return body
    why = lambda s: grants.why_code_failed(s, code, id_of(vendor), redirect_uri, challenge, now=now)  # noqa: E731
    await refused(vendor, "authorization_code", why)


async def refresh(vendor: Vendor, form: dict[str, str], now: datetime) -> dict[str, Any]:
    raw = required(form, "refresh_token")
    async with db.transaction() as db_session:
        grant = None
        if vendor.refresh_tokens:  # switched off: no refresh token works any more
            grant = await grants.use_refresh_token(db_session, raw, id_of(vendor), now=now)
        if grant is not None:
            body = await tokens_for(db_session, vendor, grant, now)
            await record(db_session, "oidc.refreshed", vendor, grant)
            return body
    why = lambda s: grants.why_refresh_failed(s, raw, id_of(vendor), now=now)  # noqa: E731
    await refused(vendor, "refresh_token", why)


async def refused(
    vendor: Vendor, grant_type: str, why: Callable[[AsyncSession], Awaitable[str]]
) -> NoReturn:
    """Work out why, revoke what a replay exposed, and audit it, committed; then refuse."""
    async with db.transaction() as db_session:
        reason = await why(db_session)
        event = {"replay": "oidc.code_replay", "reuse": "oidc.refresh_reuse"}.get(
            reason, "oidc.token_rejected"
        )
        await audit.record(
            db_session, event, "failure", vendor_key=vendor.key,
            client_address=request.remote_addr, reason=reason, grant_type=grant_type,
        )  # fmt: skip
    raise OAuthError(400, "invalid_grant", INVALID_GRANT)


async def record(db_session: AsyncSession, event: str, vendor: Vendor, grant: OidcGrant) -> None:
    await audit.record(
        db_session, event, vendor_key=vendor.key, member_id=grant.member_id,
        client_address=request.remote_addr, scope=grant.scope,
    )  # fmt: skip


async def tokens_for(
    db_session: AsyncSession, vendor: Vendor, grant: OidcGrant, now: datetime
) -> dict[str, Any]:
    """An access token, an ID token and — with offline_access granted to a vendor that may
    have them — a refresh token that lives no longer than the portal session."""
    current = settings.current()
    member = await db_session.get(Member, grant.member_id)
    portal_session = await db_session.get(AuthSession, grant.session_id)
    if member is None or portal_session is None or not member.enabled:
        raise OAuthError(400, "invalid_grant", INVALID_GRANT)
    offline = claims.OFFLINE_ACCESS in claims.parse_scope(grant.scope) and vendor.refresh_tokens
    issued = await grants.issue_tokens(
        db_session,
        grant,
        now=now,
        access_ttl=timedelta(seconds=current.oidc_access_token_ttl_seconds),
        refresh_until=portal_session.expires_at if offline else None,
    )
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
    )  # fmt: skip
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "id_token": id_token,
        "scope": grant.scope,
    }
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    return body
