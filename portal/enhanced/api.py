"""The user service (protocol.md §4): a vendor swaps a one-time token for the member object.

The body is read before the database is touched (a client that never finishes its body holds no
connection and no lock), and authentication comes before any budget is spent. A redemption is
two round trips on one raw connection in autocommit, each statement a whole step, so a rate
counter's row lock lasts one statement."""

import hmac
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NoReturn

from quart import Blueprint, request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    api_budgets,
    audit,
    basic_auth,
    catalogue,
    clock,
    db,
    good_standing,
    openapi,
    rate_limits,
    reasons,
    settings,
    vendor_secrets,
)
from portal.crypto import digest
from portal.enhanced import api_schema, tokens, vendor_records
from portal.enhanced.vendor_records import VendorRef
from portal.models import VENDOR_KEY_PATTERN

blueprint = Blueprint("sso_api", __name__)
PATH = "/api/sso/user"
METHODS = ("GET", "POST")
REALM = 'Basic realm="portal user service", charset="UTF-8"'
UNUSED_DIGEST = digest("no vendor has this secret")
INVALID_TOKEN = "The token is unknown, expired or already used."  # noqa: S105 - a message
DISABLED = "This site is disabled at the portal; the association's staff can enable it again."


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
@openapi.documented(api_schema.USER_SERVICE)
async def user() -> tuple[dict[str, object], int]:
    """Authenticate, then spend one call of the vendor's budget and redeem the token, in two
    round trips on one raw connection (vendor_records.FOR_THE_API, tokens.REDEEM). Refusals, rare by
    nature, are worked out and audited in ordinary transactions afterwards."""
    given = request.args.getlist("token") + (await request.form).getlist("token")
    now, address = clock.now(), request.remote_addr
    key, secret = credentials() or ("", "")
    raw = given[0] if len(given) == 1 and tokens.well_formed(given[0]) else None
    found = matched = redeemed = None
    async with db.connection() as conn:
        found = await vendor_records.select_vendor_for_api(conn, key) if key else None
        if found is None:
            hmac.compare_digest(UNUSED_DIGEST, digest(secret))  # the same cost as a wrong one
        else:
            matched = vendor_secrets.matching(found.secrets, secret)
        if found is not None and matched is not None and found.vendor.enabled:
            await vendor_secrets.mark_used(conn, matched, now)
            if raw is not None:
                redeemed = await tokens.redeem(
                    conn, raw, found.vendor, now=now, per_minute=per_minute(),
                    client_address=address,
                )  # fmt: skip
    if found is None or matched is None or not found.vendor.enabled:
        right = matched is not None
        return await committed(lambda s: refuse_authentication(s, found, key, now, right))
    if raw is None or redeemed is None:
        return await committed(lambda s: bad_token_parameter(s, found.vendor, given, now))
    if redeemed.hits > per_minute():
        return await committed(lambda s: over_budget(s, found.vendor, redeemed.hits, now))
    if redeemed.member is None:
        return await committed(lambda s: rejected(s, found.vendor, raw, redeemed.won, now))
    terms = good_standing.terms(settings.current(), now)
    member = catalogue.member_object(redeemed.member, found.selection, terms, sid=redeemed.sid)
    return dict(member), 200


def per_minute() -> int:
    return settings.current().api_rate_per_minute


async def committed(work: Callable[[AsyncSession], Awaitable[NoReturn]]) -> NoReturn:
    """Work out and record a refusal in a transaction of its own: the audit event and any
    counter are committed, then the refusal is answered."""
    async with db.transaction() as session:
        try:
            await work(session)
        except ApiError as error:
            refusal = error
    raise refusal


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
    session: AsyncSession,
    found: vendor_records.ApiVendor | None,
    key: str,
    now: datetime,
    right_secret: bool,
) -> NoReturn:
    """Unknown vendor and wrong secret cost a comparison and get the same answer. Failures
    spend a budget of their client network's, so garbage from a shared address cannot use up a
    vendor's calls (only calls that authenticated spend the vendor's)."""
    vendor = found.vendor if found else None
    address = request.remote_addr
    basic = credentials() is not None
    failures = api_budgets.of_network("api-auth-failure", address, settings.current())
    await spend(session, failures, now)
    reason = reasons.NO_CREDENTIALS if not basic else auth_failure(vendor)
    # Unknown keys are the caller's words, not a vendor: they never land in the vendor column.
    details = {"claimed_key": key} if key and vendor is None else {}
    await audit.record_anonymous(
        session, "vendor.auth", now=now, vendor_key=vendor.key if vendor else None,
        client_address=address, reason=reason, **details,
    )  # fmt: skip
    if basic and right_secret:
        # Only a caller holding the secret learns that the site is disabled, in a code of its
        # own that a program can act on: it need not rotate a secret that is right.
        raise ApiError(403, "vendor_disabled", DISABLED)
    if not basic:
        description = "HTTP Basic credentials (vendor key and API secret) are required."
    else:
        description = "The vendor key or API secret is not right."
    raise ApiError(401, "invalid_client", description, **{"WWW-Authenticate": REALM})


def auth_failure(vendor: VendorRef | None) -> str:
    if vendor is None:
        return reasons.UNKNOWN_VENDOR
    return reasons.DISABLED if not vendor.enabled else reasons.WRONG_SECRET


async def spend(session: AsyncSession, budget: api_budgets.Budget, now: datetime) -> None:
    """One call from `budget` for this minute; over it, a 429."""
    retry = await api_budgets.spend(session, budget, now=now, client_address=request.remote_addr)
    if retry is not None:
        raise too_many(retry)


async def over_budget(
    session: AsyncSession, vendor: VendorRef, hits: int, now: datetime
) -> NoReturn:
    """The redemption counted the call in its own statement, and found it over the budget."""
    budget = api_budgets.of_vendor(vendor.key, settings.current())
    retry = await api_budgets.over(
        session, budget, hits, now=now, client_address=request.remote_addr
    )
    raise too_many(retry or rate_limits.retry_after(now))


def too_many(retry_after: int) -> ApiError:
    return ApiError(
        429, "rate_limited", "Too many requests; slow down.", **{"Retry-After": str(retry_after)}
    )


async def bad_token_parameter(
    session: AsyncSession, vendor: VendorRef, values: list[str], now: datetime
) -> NoReturn:
    """The token must be given exactly once, and well-formed. The call still counts."""
    await spend(session, api_budgets.of_vendor(vendor.key, settings.current()), now)
    if not values:
        problem = "The token parameter is missing."
    elif len(values) > 1:
        problem = "The token parameter is given more than once."
    else:
        problem = "The token is malformed."
    await audit.record(
        session,
        "token.rejected",
        "failure",
        vendor_key=vendor.key,
        client_address=request.remote_addr,
        reason=reasons.INVALID_REQUEST,
    )
    raise ApiError(400, "invalid_request", problem)


async def rejected(
    session: AsyncSession, vendor: VendorRef, raw: str, won: bool, now: datetime
) -> NoReturn:
    """The token did not give a member: why (a replay ends the session it came from)."""
    reason = reasons.MEMBER_DISABLED if won else await tokens.why_not(session, raw, vendor, now=now)
    await audit.record(
        session,
        "token.replay" if reason == reasons.REPLAY else "token.rejected",
        "failure",
        vendor_key=vendor.key,
        client_address=request.remote_addr,
        reason=reason,
    )
    raise ApiError(400, "invalid_token", INVALID_TOKEN)
