"""Back-channel logout notices as a kind of the outbox (portal/outbox/): ending a session writes
one per vendor it reached (portal/single_logout.py); the outbox's worker POSTs each a signed
logout token. Delivery is at least once (portal/outbox/queue.py): a second POST carries the same
`jti` (docs/single-logout.md tells vendors to treat a `jti` they have seen as done).

Each POST has a total timeout. A network error, a timeout, a 5xx or a 429 is retried with
doubling pauses until `PORTAL_LOGOUT_RETRY_MINUTES` after the session ended; any other answer
(a 4xx, a redirect) is a permanent failure. A vendor's host that resolves to an address that is
not public is never called (portal/public_addresses.py): a permanent failure too, in words staff
can act on. Every outcome is recorded, and audited once final."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, pairwise, public_addresses, signing_keys, single_logout
from portal.claims import member_subject
from portal.outbox.queue import Claimed, Kind, Outcome, Retry
from portal.settings import Settings

MAX_BACKOFF = timedelta(minutes=10)
RETRIED_STATUSES = frozenset({429})  # and every 5xx

# What the logout token and the audit need of a claimed notice.
CONTEXT = """
SELECT s.sid, m.id AS member_id, m.imis_id, v.key AS vendor_key, v.pairwise_subject,
       v.backchannel_logout_url AS url
FROM auth_session s JOIN member m ON m.id = s.member_id, vendor v
WHERE s.id = :session_id AND v.id = :vendor_id
"""


@dataclass(frozen=True)
class Notice:
    url: str | None
    token: str


@dataclass(frozen=True)
class Policy:
    issuer: str
    timeout: float
    lease: timedelta
    retry_for: timedelta
    backoff: timedelta
    settings: Settings  # the signing keys are sealed with its secret key
    allow_loopback: bool = False  # development: the demo vendors live on localhost

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy | None":
        """None without an issuer (development with neither PORTAL_ISSUER nor PUBLIC_URL)."""
        if not settings.issuer:
            return None
        return cls(
            issuer=settings.issuer,
            timeout=settings.logout_timeout_seconds,
            lease=timedelta(seconds=settings.logout_lease_seconds),
            retry_for=timedelta(minutes=settings.logout_retry_minutes),
            backoff=timedelta(seconds=settings.logout_backoff_seconds),
            settings=settings,
            allow_loopback=settings.development,
        )

    def retry(self) -> Retry:
        return Retry(self.backoff, MAX_BACKOFF, window=self.retry_for, lease=self.lease)


# A kind of sign-out notice, made from the policy and the client it sends through.
Maker = Callable[[Policy, httpx.AsyncClient], Kind[Any]]


@asynccontextmanager
async def opened(policy: Policy, make: Maker | None = None) -> AsyncIterator[Kind[Any]]:
    """The kind (this module's, or a front end's `make`: SAML's SOAP LogoutRequests), with the
    HTTP client notices go out through while it is open: public addresses only (loopback too
    in development), no redirect followed."""
    async with public_addresses.client(allow_loopback=policy.allow_loopback) as client:
        yield (make or kind)(policy, client)


def kind(policy: Policy, client: httpx.AsyncClient) -> Kind[Notice]:
    async def prepare(db: AsyncSession, row: Claimed, now: datetime) -> Notice:
        found = await context(db, row)
        token = await logout_token(db, found, row.payload["jti"], policy, now=now)
        return Notice(found.url, token)

    async def send(notice: Notice) -> Outcome:
        return await post(client, notice.url, notice.token, policy.timeout)

    async def finished(db: AsyncSession, row: Claimed, outcome: Outcome) -> None:
        await audit_outcome(db, row, outcome, "logout.notified")

    return Kind(single_logout.OUTBOX_KIND, policy.retry(), prepare, send, finished,
                written="the sign-out")  # fmt: skip


async def audit_outcome(db: AsyncSession, row: Claimed, outcome: Outcome, event: str) -> None:
    """A notice's final outcome in the audit log, as `event` (each kind's own words), for its
    vendor and member."""
    found = await context(db, row)
    details: dict[str, object] = {"status": outcome.status, "attempts": row.attempts}
    if not outcome.delivered:
        details["reason"] = outcome.reason or ("gave_up" if outcome.retry else "refused")
        details["problem"] = outcome.error
    await audit.record(
        db,
        event,
        "success" if outcome.delivered else "failure",
        vendor_key=found.vendor_key,
        member_id=found.member_id,
        **details,
    )


async def context(db: AsyncSession, row: Claimed) -> Any:
    params = {"session_id": row.session_id, "vendor_id": row.vendor_id}
    return (await db.exec(text(CONTEXT).bindparams(**params))).one()  # type: ignore[call-overload]


async def logout_token(
    db: AsyncSession, found: Any, jti: str, policy: Policy, *, now: datetime
) -> str:
    claims = single_logout.logout_claims(
        issuer=policy.issuer,
        vendor_key=found.vendor_key,
        sid=found.sid,
        subject=member_subject(
            found.vendor_key,
            found.pairwise_subject,
            found.imis_id,
            await pairwise.key_for(db, found.pairwise_subject, settings=policy.settings),
        ),
        jti=jti,
        now=now,
    )
    return await signing_keys.sign(
        db, claims, now=now, settings=policy.settings, typ=single_logout.LOGOUT_TOKEN_TYPE
    )


def retried(status: int | None) -> bool:
    """No answer, a 5xx or a 429 may pass; any other answer will not."""
    return status is None or status >= 500 or status in RETRIED_STATUSES


async def post(client: httpx.AsyncClient, url: str | None, token: str, seconds: float) -> Outcome:
    """One POST of `logout_token`, form-encoded (Back-Channel Logout 1.0 §2.5), bounded in
    total by `seconds` (a vendor that trickles its answer is cut off too). Never follows a
    redirect: the portal calls only the address registered within the vendor's domains."""
    if url is None:
        error = "the vendor no longer has a sign-out notification address"
        return Outcome(error, status=410, retry=False)
    return await call(client, url, seconds, data={"logout_token": token})


async def call(
    client: httpx.AsyncClient,
    url: str,
    seconds: float,
    *,
    read: Callable[[httpx.Response], Outcome] | None = None,
    seen: Callable[[httpx.Response], None] | None = None,
    **sent: Any,
) -> Outcome:
    """One POST of `sent` (httpx's data=, content=, headers=) to a vendor, bounded in total by
    `seconds`, and its outcome by the one retry rule of sign-out notices (`retried`): every kind
    of notice calls vendors through here. A 2xx is delivered, unless `read` (a kind whose
    protocol answers in the body) finds otherwise in it."""
    try:
        async with asyncio.timeout(seconds):
            response = await client.post(url, **sent)
    except public_addresses.AddressRefused as exc:
        return Outcome(str(exc), retry=False, reason="not_public")
    except TimeoutError:
        return Outcome(f"no answer within {seconds:g} seconds")
    except httpx.HTTPError as exc:
        return Outcome(f"could not connect ({type(exc).__name__})")
    if seen is not None:
        seen(response)
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(status=status) if read is None else read(response)
    return Outcome(f"the vendor answered {status}", status=status, retry=retried(status))


# A test notice (the vendor page's "Send a test sign-out notice") names no real session: its
# `sid` starts with this prefix and matches none, and it carries TEST_CLAIM, so a vendor that
# acts on it signs nobody out (docs/single-logout.md).
TEST_SID_PREFIX = "portal-test-"
TEST_CLAIM = "portal_test_notice"
BODY_SHOWN = 300  # characters of the vendor's answer staff see


@dataclass(frozen=True)
class TestAnswer:
    outcome: Outcome
    body: str  # the first BODY_SHOWN characters of what the vendor answered, or ""


async def test_token(db: AsyncSession, vendor_key: str, policy: Policy, *, now: datetime) -> str:
    """A logout token signed as the real ones are, for no session and no member."""
    claims = single_logout.logout_claims(
        issuer=policy.issuer, vendor_key=vendor_key,
        sid=TEST_SID_PREFIX + single_logout.new_jti(), subject=TEST_SID_PREFIX + "member",
        jti=single_logout.new_jti(), now=now,
    )  # fmt: skip
    claims[TEST_CLAIM] = True
    return await signing_keys.sign(
        db, claims, now=now, settings=policy.settings, typ=single_logout.LOGOUT_TOKEN_TYPE
    )


async def send_test(policy: Policy, url: str, token: str) -> TestAnswer:
    """POST a test notice now, through the outbox's client (public addresses only) and timeout:
    the same `post` every notice goes through, with the answer's first words kept."""
    answered: list[str] = []

    def seen(response: httpx.Response) -> None:
        answered.append(response.text[:BODY_SHOWN])

    async with public_addresses.client(allow_loopback=policy.allow_loopback) as client:
        outcome = await call(client, url, policy.timeout, seen=seen, data={"logout_token": token})
    return TestAnswer(outcome, answered[0] if answered else "")


def sending(settings: Settings) -> bool:
    """Whether this portal sends back-channel logouts: not without an issuer (development)."""
    return Policy.from_settings(settings) is not None
