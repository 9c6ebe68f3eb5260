"""Client authentication at the token endpoint (OpenID Connect Core §9): client_secret_basic,
client_secret_post — the vendor's API secrets, the same two rotating slots
(portal/vendor_secrets.py) — and `none` for a vendor registered as a public client, which PKCE
then protects alone."""

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import basic_auth, reasons, vendor_secrets, vendors
from portal.crypto import digest
from portal.models import VENDOR_KEY_PATTERN, Vendor
from portal.oidc.protocol_errors import OAuthError

METHODS = ("client_secret_basic", "client_secret_post", "none")
REALM = 'Basic realm="portal token endpoint", charset="UTF-8"'
UNUSED_DIGEST = digest("no vendor has this secret")


@dataclass(frozen=True)
class Presented:
    """What the caller sent: the method, the client id it claims, and the secret if any."""

    method: str  # client_secret_basic | client_secret_post | none | "" (nothing usable)
    client_id: str
    secret: str | None


def presented(authorization: str | None, form: dict[str, str]) -> Presented:
    basic = basic_auth.authorization(authorization)
    if basic is not None and basic.type == "basic":
        if "client_secret" in form:
            raise OAuthError(400, "invalid_request", "Use one client authentication method.")
        # RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
        client_id = unquote_plus(basic.username or "")
        if form.get("client_id", client_id) != client_id:
            raise OAuthError(400, "invalid_request", "The client_id is not the one authenticated.")
        return Presented("client_secret_basic", client_id, unquote_plus(basic.password or ""))
    client_id = form.get("client_id", "")
    if "client_secret" in form:
        return Presented("client_secret_post", client_id, form["client_secret"])
    return Presented("none" if client_id else "", client_id, None)


async def raw_connection(db: AsyncSession) -> Any:
    """The asyncpg connection under the session, in its transaction (vendor_secrets takes one)."""
    connection = await db.connection()
    return (await connection.get_raw_connection()).driver_connection


class Client(Protocol):
    """What client authentication reads of a vendor (a Vendor, or the token endpoint's record)."""

    @property
    def protocol(self) -> str: ...
    @property
    def public_client(self) -> bool: ...
    @property
    def enabled(self) -> bool: ...


@dataclass(frozen=True)
class Refusal:
    reason: str  # for the audit log
    vendor: Vendor | None


@dataclass(frozen=True)
class Checked:
    matched: vendor_secrets.ActiveSecret | None  # the secret presented, to mark as used
    refusal: str | None  # why the caller is not the vendor; None: it is


def claimed_key(given: Presented) -> str:
    """The vendor key the caller claims; "" for one that is not well-formed (no look-up)."""
    return given.client_id if re.fullmatch(VENDOR_KEY_PATTERN, given.client_id) else ""


def check(
    vendor: Client | None, active: Sequence[vendor_secrets.ActiveSecret], given: Presented
) -> Checked:
    """Whether these credentials prove this vendor, given its active secrets: the one rule, for
    the ORM's look-up below and the token endpoint's statement (oidc/token_exchange.py)."""
    if vendor is None or vendor.protocol != "oidc":
        hmac.compare_digest(UNUSED_DIGEST, digest(given.secret or ""))
        return Checked(None, reasons.UNKNOWN_VENDOR)
    if given.secret is None:
        matched, right = None, vendor.public_client  # `none` is for public clients only
    else:
        matched = vendor_secrets.matching(active, given.secret)
        right = matched is not None
    if not right:
        return Checked(matched, reasons.WRONG_SECRET)
    return Checked(matched, None if vendor.enabled else reasons.DISABLED)


async def authenticate(db: AsyncSession, given: Presented, *, now: datetime) -> Vendor | Refusal:
    """The vendor these credentials prove, or why not. An unknown client and a wrong secret
    cost a comparison alike and get the same answer."""
    if not given.method:
        return Refusal(reasons.NO_CREDENTIALS, None)
    key = claimed_key(given)
    vendor = await vendors.select_vendor_by_key(db, key) if key else None
    active = []
    if vendor is not None and vendor.protocol == "oidc" and given.secret is not None:
        active = [
            vendor_secrets.ActiveSecret(row.id or 0, row.secret_hash, row.last_used_at)
            for row in await vendor_secrets.select_active(db, vendor)
        ]
    checked = check(vendor, active, given)
    if checked.matched is not None:
        await vendor_secrets.mark_used(await raw_connection(db), checked.matched, now)
    if checked.refusal is not None:
        known = checked.refusal != reasons.UNKNOWN_VENDOR
        return Refusal(checked.refusal, vendor if known else None)
    assert vendor is not None  # check() refuses an unknown vendor
    return vendor
