"""The token endpoint (OpenID Connect Core §3.1.3, RFC 6749 §4.1.3, §6): a code for tokens,
and a refresh token for new ones. Who may call, and what it costs: portal/oidc/callers.py; what
the tokens give: portal/oidc/scopes.py."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import access_refusals, audit, clock, db, reasons, settings, vendor_secrets
from portal.auth.models import AuthSession
from portal.models import Member
from portal.oidc import callers, clients, grants, issued_tokens, scopes, token_exchange
from portal.oidc.callers import Called, Caller, required
from portal.oidc.models import OidcGrant
from portal.oidc.protocol_errors import ACCESS_RULE_REFUSED, OAuthError

blueprint = Blueprint("oidc_token", __name__)
# RFC 7636 §4.1: 43 to 128 unreserved characters.
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
INVALID_GRANT = "The code or refresh token is unknown, expired, used or not for this client."
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
REFUSALS = {reasons.REPLAY: "oidc.code_replay", reasons.REUSE: "oidc.refresh_reuse"}
Why = Callable[[AsyncSession], Awaitable[str | grants.RefusedByRule]]


@blueprint.app_errorhandler(OAuthError)
async def oauth_error(error: OAuthError) -> tuple[dict[str, str], int, dict[str, str]]:
    return error.body(), error.status, {**NO_STORE, **error.headers}


@dataclass(frozen=True)
class Presented:
    """A code or a refresh token presented, as sent (its form checked, nothing looked up)."""

    grant_type: str
    secret: str  # the code, or the refresh token
    redirect_uri: str = ""
    challenge: str = ""  # the S256 challenge of the code_verifier
    asked_scope: str | None = None

    @property
    def renewing(self) -> bool:
        return self.grant_type == "refresh_token"


@blueprint.post("/oidc/token")
async def token() -> tuple[dict[str, Any], int, dict[str, str]]:
    posted = await callers.form()
    now = clock.now()
    body = await ordinary(posted, now)
    if body is not None:
        return body, 200, NO_STORE
    caller = await callers.authenticated(posted, now)
    try:
        presented = presentation(posted)
    except OAuthError as error:
        await callers.malformed(caller, error, now)
    return await exchange(caller, presented, now), 200, NO_STORE


def presentation(posted: dict[str, str]) -> Presented:
    grant_type = posted.get("grant_type", "")
    if grant_type == "authorization_code":
        code, redirect_uri = required(posted, "code"), required(posted, "redirect_uri")
        verifier = required(posted, "code_verifier")
        if not VERIFIER.fullmatch(verifier):
            raise OAuthError(400, "invalid_grant", "The code_verifier is malformed.")
        challenge = create_s256_code_challenge(verifier)
        return Presented(grant_type, code, redirect_uri, challenge)
    if grant_type == "refresh_token":
        raw = required(posted, "refresh_token")
        return Presented(grant_type, raw, asked_scope=posted.get("scope") or None)
    if not grant_type:
        raise OAuthError(400, "invalid_request", "The grant_type parameter is missing.")
    raise OAuthError(400, "unsupported_grant_type", "Use authorization_code or refresh_token.")


async def ordinary(posted: dict[str, str], now: datetime) -> dict[str, Any] | None:
    """The ordinary success — a client that proves itself, a code or refresh token of its own —
    in two statements on one raw connection (oidc/token_exchange.py). None, with nothing
    written, when the request is plainly not that: the ORM path answers it as before. Once the
    second statement has run, a refusal goes to that path's refused(), a call over the budget
    to callers.counted_over()."""
    try:
        given = clients.presented(request.headers.get("Authorization"), posted)
        presented = presentation(posted)
    except OAuthError:
        return None
    key = clients.claimed_key(given)
    if not given.method or not key:
        return None
    code = None if presented.renewing else presented.secret
    async with db.connection() as conn:
        found = await token_exchange.client(
            conn, key, code=code, refresh_token=presented.secret if presented.renewing else None
        )
        if found is None or found.grant is None:
            return None
        checked = clients.check(found.client, found.secrets, given)
        # Staff took refresh tokens away: the ORM path revokes the one presented.
        if checked.refusal is not None or (presented.renewing and not found.client.refresh_tokens):
            return None
        try:
            scope = scopes.granted(found.grant.scope, found.client, presented.asked_scope)
        except scopes.NotGranted:
            return None
        if checked.matched is not None:
            await vendor_secrets.mark_used(conn, checked.matched, now)
        caller = Caller(found.client, given.method)
        # Before anything is used: without a key, the code or refresh token stays good.
        keys = issued_tokens.cached_keys(found.client, now)
        if keys is None:  # a key changed, or the process is new: load it
            async with db.transaction() as db_session:
                keys = await issued_tokens.keys(db_session, found.client, now)
        offline = issued_tokens.offline_access(found.grant.offline, scope, presented.renewing)
        ends = found.grant.session_expires_at
        until = issued_tokens.refresh_until(offline, ends, now, presented.renewing)
        issue = issued_tokens.new_tokens(scope, now, until)
        used = await use_at_once(conn, caller, presented, issue, offline, now)
    if used.hits is not None and used.hits > settings.current().api_rate_per_minute:
        await callers.counted_over(caller, used.hits, now)
    if used.named is None:
        await refused(caller, presented.grant_type, now, lambda s: why(s, presented, caller, now))
    return await issued_tokens.answer(keys, found.client, used.named, issue, now)


async def use_at_once(
    conn: Any,
    caller: Caller,
    presented: Presented,
    issue: issued_tokens.Issue,
    offline: bool,
    now: datetime,
) -> token_exchange.Used:
    event = audit.checked(
        "oidc.refreshed" if presented.renewing else "oidc.code_redeemed",
        vendor_key=caller.vendor.key, client_address=request.remote_addr, scope=issue.scope,
    )  # fmt: skip
    spending = token_exchange.Spending(
        caller.vendor.key, caller.public, settings.current().api_rate_per_minute
    )
    if presented.renewing:
        return await token_exchange.refresh(
            conn, caller.vendor_id, presented.secret, spending=spending, issue=issue,
            event=event, now=now,
        )  # fmt: skip
    return await token_exchange.redeem(
        conn, caller.vendor_id, presented.secret, presented.redirect_uri, presented.challenge,
        offline=offline, spending=spending, issue=issue, event=event, now=now,
    )  # fmt: skip


async def use(
    db_session: AsyncSession, presented: Presented, caller: Caller, now: datetime
) -> OidcGrant | None:
    """The ORM path's use of the code or refresh token: its grant, or None."""
    if not presented.renewing:
        return await grants.redeem_code(
            db_session, presented.secret, caller.vendor_id, presented.redirect_uri,
            presented.challenge, now=now,
        )  # fmt: skip
    if not caller.vendor.refresh_tokens:  # staff took refresh tokens away: none works any more
        return None
    return await grants.use_refresh_token(db_session, presented.secret, caller.vendor_id, now=now)


async def why(
    db_session: AsyncSession, presented: Presented, caller: Caller, now: datetime
) -> str | grants.RefusedByRule:
    """Why the code or refresh token gave nothing (a replay or reuse revokes what it gave)."""
    if not presented.renewing:
        return await grants.why_code_failed(
            db_session, presented.secret, caller.vendor_id, presented.redirect_uri,
            presented.challenge, now=now,
        )  # fmt: skip
    return await grants.why_refresh_failed(
        db_session, presented.secret, caller.vendor_id, now=now,
        switched_off=not caller.vendor.refresh_tokens,
    )  # fmt: skip


async def exchange(caller: Caller, presented: Presented, now: datetime) -> dict[str, Any]:
    """The ORM path: one transaction uses the code or refresh token, issues the tokens and —
    for a public client — spends its vendor's budget, or none of it happens. A refusal is
    worked out and audited in a transaction of its own."""
    try:
        async with db.transaction() as db_session:
            grant = await use(db_session, presented, caller, now)
            if grant is not None:
                scope = scopes.granted(grant.scope, caller.vendor, presented.asked_scope)
                body = await tokens_for(db_session, caller.vendor, grant, scope, now, presented)
                event = "oidc.refreshed" if presented.renewing else "oidc.code_redeemed"
                await record(db_session, event, caller.vendor, grant, scope)
                await callers.charge_validated(db_session, caller, now)
                return body
    except scopes.NotGranted as error:
        asked = OAuthError(400, "invalid_scope", str(error))
        await refused(caller, presented.grant_type, now, reasons.INVALID_SCOPE, asked)
    except callers.OverBudget:
        await callers.over_budget(caller, now)
    await refused(caller, presented.grant_type, now, lambda s: why(s, presented, caller, now))


async def refused(
    caller: Caller,
    grant_type: str,
    now: datetime,
    why: Why | str,
    error: OAuthError | None = None,
) -> NoReturn:
    """Work out why (unless told), revoke what a replay exposed, and audit it, committed; then
    refuse. A member the vendor's access rule no longer lets in is `access.refused` — the one
    event of every refusal by a rule (docs/oidc.md) — and nothing is revoked: the grant works
    again once the rule lets them in."""
    async with db.transaction() as db_session:
        instead = await callers.charge_failure(db_session, caller, now)
        if instead is None:
            found = why if isinstance(why, str) else await why(db_session)
            if isinstance(found, grants.RefusedByRule):
                # Always recorded, even for a public client: only a live code or token gets here.
                await access_refusals.record(
                    db_session, found.vendor, found.member_id, found.decision, front_end="oidc",
                    client_address=request.remote_addr,
                )  # fmt: skip
                error = OAuthError(400, "invalid_grant", ACCESS_RULE_REFUSED)
            else:
                await callers.record_refusal(
                    db_session, caller, REFUSALS.get(found, "oidc.token_rejected"), now=now,
                    reason=found, grant_type=grant_type,
                )  # fmt: skip
    raise instead or error or OAuthError(400, "invalid_grant", INVALID_GRANT)


async def record(
    db_session: AsyncSession, event: str, vendor: Called, grant: OidcGrant, scope: str
) -> None:
    await audit.record(
        db_session, event, vendor_key=vendor.key, member_id=grant.member_id,
        client_address=request.remote_addr, scope=scope,
    )  # fmt: skip


async def tokens_for(
    db_session: AsyncSession,
    vendor: Called,
    grant: OidcGrant,
    scope: str,
    now: datetime,
    presented: Presented,
) -> dict[str, Any]:
    """The ORM path's tokens: an access token for `scope`, an ID token and — with
    offline_access granted to a vendor whose refresh switch is on — a refresh token."""
    member = await db_session.get(Member, grant.member_id)
    portal_session = await db_session.get(AuthSession, grant.session_id)
    if member is None or portal_session is None:  # the grant's foreign keys hold both
        raise OAuthError(400, "invalid_grant", INVALID_GRANT)
    offline = issued_tokens.offline_access(grant.offline, scope, presented.renewing)
    if offline and not grant.offline:
        grant.offline = True
        db_session.add(grant)
    until = issued_tokens.refresh_until(offline, portal_session.expires_at, now, presented.renewing)
    issue = issued_tokens.new_tokens(scope, now, until)
    await grants.store_tokens(
        db_session, grant, now=now, scope=scope, access_token=issue.access_token,
        access_until=issue.access_until, refresh_token=issue.refresh_token, refresh_until=until,
    )  # fmt: skip
    keys = await issued_tokens.keys(db_session, vendor, now)
    named = issued_tokens.Named(member.imis_id, portal_session.sid, grant.auth_time, grant.nonce)
    return await issued_tokens.answer(keys, vendor, named, issue, now)
