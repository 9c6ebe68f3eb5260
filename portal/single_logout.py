"""Single logout (docs/single-logout.md): when a portal session ends, every vendor it reached
(portal/session_vendors.py, through any front end) hears of it. Ending a session writes one
outbox row per reached vendor that has a back-channel logout URL, in the same transaction
(`enqueue`, called by portal/auth/sessions.py), so a notification is never lost nor written for
a session that did not end; the outbox's worker delivers them (portal/logout_notices.py). Also:
the logout token's claims, the signed-out page's account of which sites were signed out, and what
the dashboard shows of deliveries."""

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import String, func, literal
from sqlalchemy import select as columns_of  # sqlmodel's select takes at most four
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import session_vendors
from portal.models import Vendor, id_of
from portal.outbox.models import OutboxItem

# OpenID Connect Back-Channel Logout 1.0 §2.4: the event that makes a JWT a logout token.
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"  # noqa: S105 - a JOSE type, not a secret
# Short: a logout token is sent at once; one that leaks later is worthless.
LOGOUT_TOKEN_LIFETIME = timedelta(minutes=2)
RECENT = 20
OUTBOX_KIND = "logout"


def not_told(
    vendors: Sequence[Vendor], *, told_its_own_way: Callable[[Vendor], bool]
) -> dict[int, list[str]]:
    """{vendor id: [why staff should act]} for each vendor no sign-out notice reaches: no
    sign-out notification address, and no way of its front end's own (SAML's sign-out)."""
    return {
        id_of(vendor): [
            f"{vendor.name} has no sign-out notification address: members who sign out "
            "elsewhere stay signed in here. Add the address its developers give under Settings."
        ]
        for vendor in vendors
        if not vendor.backchannel_logout_url and not told_its_own_way(vendor)
    }


async def vendors_reached(db: AsyncSession, session_id: int) -> list[Vendor]:
    query = select(Vendor).where(col(Vendor.id).in_(session_vendors.reached_vendor_ids(session_id)))
    return list(await db.exec(query.order_by(col(Vendor.name))))


async def enqueue(db: AsyncSession, session_id: int, *, now: datetime) -> int:
    """One notification per reached vendor with a back-channel logout URL, in the caller's
    transaction (the one that ends the session); returns how many were written. The unique
    (kind, session, vendor) makes a second call for the same session write nothing."""
    # One `jti` per notice, kept across retries, so a receiver can recognise a repeat.
    jti = func.jsonb_build_object("jti", func.replace(func.gen_random_uuid().cast(String), "-", ""))
    rows = columns_of(
        literal(OUTBOX_KIND), jti, literal(session_id), col(Vendor.id), literal(now), literal(now)
    ).where(
        col(Vendor.id).in_(session_vendors.reached_vendor_ids(session_id)),
        col(Vendor.backchannel_logout_url).is_not(None),
    )
    columns = ["kind", "payload", "session_id", "vendor_id", "created_at", "next_attempt_at"]
    statement = (
        insert(OutboxItem)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["kind", "session_id", "vendor_id"])
    )
    result = await db.exec(statement)
    return int(result.rowcount)


def logout_claims(
    *, issuer: str, vendor_key: str, sid: str, subject: str, jti: str, now: datetime
) -> dict[str, Any]:
    """Back-Channel Logout 1.0 §2.4: `sub` is the member's iMIS ID (what an Enhanced vendor
    keeps as ImisId; an OpenID Connect vendor's `sub`, pairwise where it has those), `sid` the
    portal session's public id; never a `nonce` (it would make the token pass for an ID
    token)."""
    issued = int(now.timestamp())
    return {
        "iss": issuer,
        "aud": vendor_key,
        "iat": issued,
        "exp": issued + int(LOGOUT_TOKEN_LIFETIME.total_seconds()),
        "jti": jti,
        "sub": subject,
        "sid": sid,
        "events": {BACKCHANNEL_EVENT: {}},
    }


def new_jti() -> str:
    return secrets.token_hex(16)


def frontchannel_url(url: str, *, issuer: str, sid: str) -> str:
    """OIDC Front-Channel Logout 1.0 §2: the vendor's page with `iss` and `sid` added."""
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode({"iss": issuer, "sid": sid})) if part)
    return urlunsplit(parts._replace(query=query))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class SignOutReport:
    """What the signed-out page tells the member, truthfully."""

    signed_out: list[str]  # told by the back channel (delivered, or being delivered)
    failed: list[str]  # told, but the vendor could not be reached or refused
    framed: list[str]  # no back channel, but a front-channel page loaded by the signed-out page
    not_told: list[str]  # neither (or told through the browser without answering that it did):
    # the member may still be signed in there
    frames: list[str]  # the front-channel URLs to load, with iss and sid
    browser: list[str]  # told through the member's browser, and answered that it signed out


async def sign_out_report(
    db: AsyncSession,
    session_id: int,
    *,
    sid: str,
    issuer: str | None,
    sending: bool,
    through_browser: Mapping[int, bool],
) -> SignOutReport:
    """`sending`: whether this portal sends back-channel notices (logout_notices.sending); a
    notice that waits for a portal that does is no sign-out the member can count on.
    `through_browser`: the vendors told through this browser (session_cookies.Chain), and
    whether each answered that it signed the member out."""
    query = select(OutboxItem).where(col(OutboxItem.session_id) == session_id)
    deliveries = {row.vendor_id: row for row in await db.exec(query)} if sending else {}
    report = SignOutReport([], [], [], [], [], [])
    for vendor in await vendors_reached(db, session_id):
        delivery = deliveries.get(vendor.id or 0)
        told = through_browser.get(vendor.id or 0)
        if told is not None:
            (report.browser if told else report.not_told).append(vendor.name)
        elif delivery is not None:
            bucket = report.failed if delivery.failed_at is not None else report.signed_out
            bucket.append(vendor.name)
        elif vendor.frontchannel_logout_url and issuer:
            report.framed.append(vendor.name)
            url = frontchannel_url(vendor.frontchannel_logout_url, issuer=issuer, sid=sid)
            report.frames.append(url)
        else:
            report.not_told.append(vendor.name)
    return report


async def recent_deliveries(
    db: AsyncSession, vendor_id: int, *, limit: int = RECENT
) -> list[OutboxItem]:
    """A vendor's latest notifications, newest first, for its page in the dashboard."""
    query = (
        select(OutboxItem)
        .where(col(OutboxItem.vendor_id) == vendor_id)
        .order_by(col(OutboxItem.id).desc())
        .limit(limit)
    )
    return list(await db.exec(query))
