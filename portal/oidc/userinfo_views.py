"""The UserInfo endpoint (OpenID Connect Core §5.3): the member's claims for a bearer access
token (RFC 6750), filtered by the vendor's returned fields and the scopes it was granted."""

from datetime import datetime
from typing import Any

from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import claims, clock, db, pairwise, rate_limits, settings, vendors
from portal.oidc import grants, id_tokens
from portal.oidc.protocol_errors import OAuthError
from portal.rate_limits import client_network

blueprint = Blueprint("oidc_userinfo", __name__)
REALM = 'Bearer realm="portal"'


@blueprint.route("/oidc/userinfo", methods=["GET", "POST"])
async def userinfo() -> dict[str, Any]:
    raw = await bearer_token()
    now = clock.now()
    async with db.transaction() as db_session:
        found = await grants.access(db_session, raw, now=now)
        if found is None:
            await spend(db_session, f"oidc-bad-token:{client_network(request.remote_addr)}", now)
        else:
            await spend(db_session, f"oidc:{found.vendor.key}", now)
            fields = [
                choice.field for choice in await vendors.select_fields(db_session, found.vendor)
            ]
            pairwise_key = await pairwise.key_for(
                db_session, found.vendor.pairwise_subject, settings=settings.current()
            )
    if found is None:
        raise unauthorized("invalid_token", "The access token is unknown, expired or revoked.")
    sub = id_tokens.subject(found.vendor, found.member.imis_id, pairwise_key)
    scopes = claims.parse_scope(found.grant.scope)
    return {"sub": sub, **claims.member_claims(found.member, fields, scopes, now.date())}


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
    raise OAuthError(
        401, "invalid_request", "An access token is required.", **{"WWW-Authenticate": REALM}
    )


def unauthorized(error: str, description: str) -> OAuthError:
    challenge = f'{REALM}, error="{error}", error_description="{description}"'
    return OAuthError(
        401 if error == "invalid_token" else 400,
        error,
        description,
        **{"WWW-Authenticate": challenge},
    )


async def spend(db_session: AsyncSession, bucket: str, now: datetime) -> None:
    current = settings.current()
    per_minute = (
        current.api_failed_auth_per_minute
        if bucket.startswith("oidc-bad-token:")
        else current.api_rate_per_minute
    )
    if await rate_limits.hit(db_session, bucket, now=now) > per_minute:
        raise OAuthError(
            429, "slow_down", "Too many requests; slow down.",
            **{"Retry-After": str(rate_limits.retry_after(now))},
        )  # fmt: skip
