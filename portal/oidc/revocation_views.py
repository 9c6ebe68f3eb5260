"""Token revocation (RFC 7009) at `/oidc/revoke`: a vendor ends a member's grant — an access or
a refresh token of it ends the whole family — with the token endpoint's client authentication and
budgets (portal/oidc/callers.py). What cannot be revoked (an unknown, expired or already revoked
token, another client's) answers 200 all the same (§2.2): the client can do nothing about it, and
learns nothing of tokens it does not hold."""

from datetime import datetime

from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, db
from portal.oidc import callers, grants
from portal.oidc.callers import Caller
from portal.oidc.protocol_errors import OAuthError
from portal.oidc.token_views import NO_STORE

blueprint = Blueprint("oidc_revocation", __name__)
EVENT = "oidc.token_revoked"


@blueprint.post("/oidc/revoke")
async def revoke() -> tuple[str, int, dict[str, str]]:
    posted = await callers.form()
    now = clock.now()
    caller = await callers.authenticated(posted, now)
    raw = posted.get("token", "")  # token_type_hint is only a hint: a token is found by its hash
    if not raw:
        missing = OAuthError(400, "invalid_request", "The token parameter is missing.")
        await callers.malformed(caller, missing, now)
    try:
        async with db.transaction() as db_session:
            instead = await revoked(db_session, caller, raw, now)
    except callers.OverBudget:
        await callers.over_budget(caller, now)
    if instead is not None:
        raise instead
    return "", 200, NO_STORE


async def revoked(
    db_session: AsyncSession, caller: Caller, raw: str, now: datetime
) -> OAuthError | None:
    """Revoke and audit; a token that is not the caller's is a failure like any other (for a
    public client, one of its network's budget). The 429 to answer instead, if any."""
    done = await grants.revoke_token(db_session, raw, caller.vendor_id, now=now)
    if done.grant is None:
        instead = await callers.charge_failure(db_session, caller, now)
        if instead is None:
            await callers.record_refusal(db_session, caller, EVENT, now=now, reason=done.result)
        return instead
    await audit.record(
        db_session, EVENT, vendor_key=caller.vendor.key, member_id=done.grant.member_id,
        client_address=request.remote_addr, already_revoked=done.result == "already_revoked",
    )  # fmt: skip
    await callers.charge_validated(db_session, caller, now)
    return None
