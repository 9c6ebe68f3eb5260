"""The user service (protocol.md §4): a vendor swaps a one-time token for the member object.

The body is read before the database is touched (a client that never finishes its body holds no
connection and no lock), authentication comes before any budget is spent, and each step is its
own short transaction, so a rate counter's row lock lasts one statement and a commit."""

import hmac
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TypeVar

from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    audit,
    basic_auth,
    catalogue,
    clock,
    db,
    members,
    rate_limits,
    settings,
    vendor_secrets,
    vendors,
)
from portal.crypto import digest
from portal.enhanced import tokens
from portal.models import VENDOR_KEY_PATTERN, Member, Vendor
from portal.rate_limits import client_network

blueprint = Blueprint("sso_api", __name__)
PATH = "/api/sso/user"
METHODS = ("GET", "POST")
REALM = 'Basic realm="portal user service", charset="UTF-8"'
UNUSED_DIGEST = digest("no vendor has this secret")
INVALID_TOKEN = "The token is unknown, expired or already used."  # noqa: S105 - a message
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str, **headers: str) -> None:
        super().__init__(description)
        self.status, self.error, self.headers = status, error, headers


@blueprint.app_errorhandler(ApiError)
async def api_error(error: ApiError) -> tuple[dict[str, str], int, dict[str, str]]:
    body = {"error": error.error, "error_description": str(error)}
    return body, error.status, error.headers


@blueprint.before_app_request
async def only_get_and_post() -> None:
    """Only GET and POST exist here. HEAD would otherwise run the GET view and spend the token,
    so that the vendor's real GET then counted as a replay; every other method, OPTIONS and
    unknown ones included, is refused before anything is read or written."""
    if request.path == PATH and request.method not in METHODS:
        raise ApiError(
            405,
            "invalid_request",
            "Only GET and POST are allowed here.",
            Allow=", ".join(METHODS),
        )


@blueprint.route(PATH, methods=list(METHODS))
async def user() -> tuple[dict[str, object], int]:
    given = request.args.getlist("token") + (await request.form).getlist("token")
    now = clock.now()
    vendor = await committed(lambda s: authenticate(s, now))
    member = await committed(lambda s: redeem(s, vendor, given, now))
    return member, 200


async def committed(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one step in its own transaction; a refusal still commits what the step recorded
    (its audit event, its counter)."""
    async with db.transaction() as session:
        try:
            return await work(session)
        except ApiError as error:
            refusal = error
    raise refusal


async def authenticate(session: AsyncSession, now: datetime) -> Vendor:
    """HTTP Basic `vendor key : API secret`. Unknown vendor and wrong secret cost a comparison
    and get the same answer. Only a vendor that authenticated spends its own budget; failures
    spend a budget of their client network's, so garbage from a shared address cannot use up a
    vendor's calls."""
    key, secret = credentials() or ("", "")
    vendor = await vendors.select_vendor_by_key(session, key) if key else None
    found = await vendor_secrets.matching_secret(session, vendor, secret) if vendor else None
    if vendor is None:
        hmac.compare_digest(UNUSED_DIGEST, digest(secret))
    if vendor is not None and found is not None and vendor.enabled:
        await vendor_secrets.mark_used(session, found, now)
        await spend(
            session, f"vendor:{vendor.key}", settings.current().api_rate_per_minute, now, vendor
        )
        return vendor
    return await refuse_authentication(session, vendor, key, now)


def credentials() -> tuple[str, str] | None:
    """(key, secret) from HTTP Basic, None without Basic credentials. A key that is not
    well-formed is no key at all: nothing else is looked up or logged."""
    given = basic_auth.authorization(request.headers.get("Authorization"))
    if given is None or given.type != "basic":
        return None
    claimed = given.username or ""
    key = claimed if re.fullmatch(VENDOR_KEY_PATTERN, claimed) else ""
    return key, given.password or ""


async def refuse_authentication(
    session: AsyncSession, vendor: Vendor | None, key: str, now: datetime
) -> Vendor:
    address = request.remote_addr
    basic = credentials() is not None
    await spend(
        session,
        f"api-auth-failure:{client_network(address)}",
        settings.current().api_failed_auth_per_minute,
        now,
    )
    reason = "no_credentials" if not basic else auth_failure(vendor)
    # Unknown keys are the caller's words, not a vendor: they never land in the vendor column.
    vendor_key = vendor.key if vendor else None
    details = {"claimed_key": key} if key and vendor is None else {}
    await audit.record_anonymous(
        session, "vendor.auth", now=now, vendor_key=vendor_key, client_address=address,
        reason=reason, **details,
    )  # fmt: skip
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


async def spend(
    session: AsyncSession, bucket: str, per_minute: int, now: datetime, vendor: Vendor | None = None
) -> None:
    """One call from `bucket`'s budget for this minute; over it, a 429 (audited once a window)."""
    hits = await rate_limits.hit(session, bucket, now=now)
    if hits <= per_minute:
        return
    if hits == per_minute + 1:
        await audit.record(
            session,
            "api.rate_limited",
            "failure",
            vendor_key=vendor.key if vendor else None,
            client_address=request.remote_addr,
            bucket=bucket.split(":", 1)[0],
        )
    raise ApiError(
        429,
        "rate_limited",
        "Too many requests; slow down.",
        **{"Retry-After": str(rate_limits.retry_after(now))},
    )


async def redeem(
    session: AsyncSession, vendor: Vendor, given: list[str], now: datetime
) -> dict[str, object]:
    raw = await token_parameter(session, vendor, given)
    redemption = await tokens.redeem(session, raw, vendor, now=now)
    member_id = redemption.member_id
    member = await members.select_member_by_id(session, member_id) if member_id else None
    if member is None or not member.enabled:
        await rejected(session, vendor, redemption)
        raise ApiError(400, "invalid_token", INVALID_TOKEN)
    await audit.record(
        session,
        "token.redeemed",
        vendor_key=vendor.key,
        member_id=member.id,
        client_address=request.remote_addr,
    )
    return await member_object(session, vendor, member, now.date())


async def token_parameter(session: AsyncSession, vendor: Vendor, values: list[str]) -> str:
    """The token from the query string or the form body, exactly once."""
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
