"""The user service (protocol.md §4): a vendor swaps a one-time token for the member object."""

import hmac
import re
from datetime import date

from quart import Blueprint, Response, current_app, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, basic_auth, catalogue, clock, db, throttle, vendor_secrets, vendors
from portal.crypto import digest
from portal.models import VENDOR_KEY_PATTERN, Member, Vendor
from portal.settings import Settings
from portal.sso import tokens

blueprint = Blueprint("sso_api", __name__)
REALM = 'Basic realm="portal user service", charset="UTF-8"'
UNUSED_DIGEST = digest("no vendor has this secret")


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str, **headers: str) -> None:
        super().__init__(description)
        self.status, self.error, self.headers = status, error, headers


@blueprint.after_request
async def never_cache(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@blueprint.errorhandler(ApiError)
async def api_error(error: ApiError) -> tuple[dict[str, str], int, dict[str, str]]:
    body = {"error": error.error, "error_description": str(error)}
    return body, error.status, error.headers


@blueprint.route("/api/sso/user", methods=["GET", "POST"])
async def user() -> tuple[dict[str, object], int]:
    async with db.session() as session:
        try:
            return await answer(session)
        except ApiError as error:
            refusal = error  # leave the block normally: the audit and counters are committed
    raise refusal


async def answer(session: AsyncSession) -> tuple[dict[str, object], int]:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    now, address = clock.now(), request.remote_addr or "unknown"
    await limit(session, f"address:{address}", settings.api_rate_per_minute)
    vendor = await authenticate(session)
    await limit(session, f"vendor:{vendor.key}", settings.api_rate_per_minute)
    raw = await token_parameter(session, vendor)
    redemption = await tokens.redeem(session, raw, vendor, now=now)
    member = await session.get(Member, redemption.member_id) if redemption.member_id else None
    if member is None or not member.enabled:
        await rejected(session, vendor, redemption)
        raise ApiError(400, "invalid_token", "The token is unknown, expired or already used.")
    await audit.record(
        session,
        "token.redeemed",
        vendor_key=vendor.key,
        member_id=member.id,
        client_address=address,
    )
    return await member_object(session, vendor, member, now.date()), 200


async def limit(session: AsyncSession, bucket: str, per_minute: int) -> None:
    retry_after = await throttle.over_rate(session, bucket, now=clock.now(), limit=per_minute)
    if retry_after:
        await audit.record(
            session,
            "api.rate_limited",
            "failure",
            client_address=request.remote_addr,
            bucket=bucket,
        )
        raise ApiError(
            429,
            "rate_limited",
            "Too many requests; slow down.",
            **{"Retry-After": str(retry_after)},
        )


async def authenticate(session: AsyncSession) -> Vendor:
    """HTTP Basic `vendor key : API secret`. Unknown vendor, disabled vendor and wrong secret all
    cost a comparison and get the same answer, so the answer tells nothing about which it was."""
    credentials = basic_auth.authorization(request.headers.get("Authorization"))
    basic = credentials is not None and credentials.type == "basic"
    claimed = (credentials.username or "") if basic and credentials else ""
    # Only a well-formed key is looked up or logged; anything else is simply not a vendor.
    key = claimed if re.fullmatch(VENDOR_KEY_PATTERN, claimed) else ""
    secret = (credentials.password or "") if basic and credentials else ""
    vendor = await vendors.select_vendor_by_key(session, key) if key else None
    found = await vendor_secrets.matching_secret(session, vendor, secret) if vendor else None
    if vendor is None:
        hmac.compare_digest(UNUSED_DIGEST, digest(secret))
    if vendor is not None and found is not None and vendor.enabled:
        await vendor_secrets.mark_used(session, found, clock.now())
        return vendor
    await audit.record(
        session,
        "vendor.auth",
        "failure",
        vendor_key=key or None,
        client_address=request.remote_addr,
        reason=auth_failure(vendor) if basic else "no_credentials",
    )
    description = (
        "The vendor key or API secret is not right."
        if basic
        else "HTTP Basic credentials (vendor key and API secret) are required."
    )
    raise ApiError(401, "invalid_client", description, **{"WWW-Authenticate": REALM})


def auth_failure(vendor: Vendor | None) -> str:
    if vendor is None:
        return "unknown_vendor"
    return "disabled" if not vendor.enabled else "wrong_secret"


async def token_parameter(session: AsyncSession, vendor: Vendor) -> str:
    """The token from the query string or the form body, exactly once."""
    values: list[str] = request.args.getlist("token") + (await request.form).getlist("token")
    problem = None
    if not values:
        problem = "The token parameter is missing."
    elif len(values) > 1:
        problem = "The token parameter is given more than once."
    elif not tokens.well_formed(values[0]):
        problem = "The token is malformed."
    if problem:
        await audit.record(
            session,
            "token.rejected",
            "failure",
            vendor_key=vendor.key,
            client_address=request.remote_addr,
            reason="invalid_request",
        )
        raise ApiError(400, "invalid_request", problem)
    return values[0]


async def rejected(session: AsyncSession, vendor: Vendor, redemption: tokens.Redemption) -> None:
    reason = redemption.reason or "member_disabled"
    await audit.record(
        session,
        "token.replay" if reason == "replay" else "token.rejected",
        "failure",
        vendor_key=vendor.key,
        member_id=redemption.member_id,
        client_address=request.remote_addr,
        reason=reason,
    )


async def member_object(
    session: AsyncSession, vendor: Vendor, member: Member, today: date
) -> dict[str, object]:
    selection = [(c.field, c.output) for c in await vendors.select_fields(session, vendor)]
    return dict(catalogue.member_object(member, selection, today))
