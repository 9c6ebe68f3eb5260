"""The back-channel logout worker: delivers the outbox that ending a session fills
(portal/single_logout.py). A task of every worker process, started with the app.

Safe with any number of processes: a delivery is claimed with FOR UPDATE SKIP LOCKED and a lease
(`leased_until`), so two workers never send it at once, and one that dies mid-delivery (a
restart, a crash) loses it when the lease ends; another sends it then. A claim counts an attempt,
and only the worker holding the latest attempt may record the outcome. So delivery is at least
once: a worker that died after the vendor acted but before recording it means a second POST,
with the same `jti` (docs/single-logout.md tells vendors to treat a `jti` they have seen as done).

Each POST has a total timeout. A network error, a timeout, a 5xx or a 429 is retried with
doubling pauses until `PORTAL_LOGOUT_RETRY_MINUTES` after the session ended; any other answer
(a 4xx, a redirect) is a permanent failure. A vendor's host that resolves to an address that is
not public is never called (portal/public_addresses.py): a permanent failure too, in words staff
can act on. Every outcome is recorded, and audited once final."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from quart import Quart
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, background, pairwise, public_addresses, signing_keys, single_logout
from portal.claims import member_subject
from portal.clock import Clock
from portal.maintenance import one_line
from portal.settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
PAUSE_AFTER_FAILURE = 10.0  # the database is down, say: one log line per pause, not per poll
BATCH = 20  # deliveries one worker sends at once
MAX_BACKOFF = timedelta(minutes=10)
RETRIED_STATUSES = frozenset({429})  # and every 5xx

# The due deliveries, each leased to this worker with one more attempt counted, with what the
# logout token needs. A row leased by a worker that is still within its lease is skipped.
CLAIM = """
UPDATE logout_delivery d
SET leased_until = :now + make_interval(secs => :lease), attempts = d.attempts + 1
FROM (
    SELECT id FROM logout_delivery
    WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= :now
      AND (leased_until IS NULL OR leased_until <= :now)
    ORDER BY next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED
) due, auth_session s, member m, vendor v
WHERE d.id = due.id AND s.id = d.session_id AND m.id = s.member_id AND v.id = d.vendor_id
RETURNING d.id, d.attempts, d.jti, d.created_at, s.sid, m.id AS member_id, m.imis_id,
          v.key AS vendor_key, v.pairwise_subject, v.backchannel_logout_url AS url
"""
# The outcome, recorded only by the worker that holds the latest attempt (a worker whose lease
# ran out while it waited must not overwrite what the next one found).
SETTLE = """
UPDATE logout_delivery
SET delivered_at = :delivered_at, failed_at = :failed_at, next_attempt_at = :next_attempt_at,
    leased_until = NULL, last_status = :status, last_error = :error
WHERE id = :id AND attempts = :attempts AND delivered_at IS NULL AND failed_at IS NULL
RETURNING id
"""


@dataclass(frozen=True)
class Claimed:
    id: int
    attempts: int
    jti: str
    created_at: datetime
    sid: str
    member_id: int
    imis_id: str
    vendor_key: str
    pairwise_subject: bool
    url: str | None


@dataclass(frozen=True)
class Answer:
    status: int | None  # the vendor's HTTP status; None when no answer came
    error: str | None  # what went wrong, in plain words, for staff; None on success
    refusal: str | None = None  # the portal's own reason not to call (final), for the audit log

    @property
    def retry(self) -> bool:
        if self.refusal is not None:
            return False
        if self.status is None:
            return True
        return self.status >= 500 or self.status in RETRIED_STATUSES


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

    def client(self) -> httpx.AsyncClient:
        """The HTTP client deliveries go out through: public addresses only (loopback too in
        development), no redirect followed."""
        return public_addresses.client(allow_loopback=self.allow_loopback)


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    policy: Policy,
    client: httpx.AsyncClient,
) -> int:
    """Claim the due deliveries, POST each (at once, side by side), record the outcomes;
    returns how many were claimed."""
    async with sessions() as db, db.begin():
        now = clock()
        claimed = await claim(db, now=now, lease=policy.lease)
        tokens = [
            None if too_late(row, policy, now) else await logout_token(db, row, policy, now=now)
            for row in claimed
        ]
    answers = await asyncio.gather(
        *(attempt(client, row, token, policy) for row, token in zip(claimed, tokens, strict=True))
    )
    for row, answer in zip(claimed, answers, strict=True):
        async with sessions() as db, db.begin():
            await settle(db, row, answer, policy, now=clock())
    return len(claimed)


async def claim(db: AsyncSession, *, now: datetime, lease: timedelta) -> list[Claimed]:
    params = {"now": now, "lease": lease.total_seconds(), "batch": BATCH}
    rows = await db.exec(text(CLAIM).bindparams(**params))  # type: ignore[call-overload]
    return [Claimed(**row._mapping) for row in rows]


async def logout_token(db: AsyncSession, row: Claimed, policy: Policy, *, now: datetime) -> str:
    claims = single_logout.logout_claims(
        issuer=policy.issuer,
        vendor_key=row.vendor_key,
        sid=row.sid,
        subject=member_subject(
            row.vendor_key,
            row.pairwise_subject,
            row.imis_id,
            await pairwise.key_for(db, row.pairwise_subject, settings=policy.settings),
        ),
        jti=row.jti,
        now=now,
    )
    return await signing_keys.sign(
        db, claims, now=now, settings=policy.settings, typ=single_logout.LOGOUT_TOKEN_TYPE
    )


def too_late(row: Claimed, policy: Policy, now: datetime) -> bool:
    """A notice is sent within the retry time after its session ended, or never: one written
    while this portal sent none (no issuer), or while no worker ran, is stale by then."""
    return now > row.created_at + policy.retry_for


async def attempt(
    client: httpx.AsyncClient, row: Claimed, token: str | None, policy: Policy
) -> Answer:
    if token is None:  # too late: not sent
        minutes = int(policy.retry_for.total_seconds() // 60)
        error = f"not sent: the portal could not send it within {minutes} minutes of the sign-out"
        return Answer(None, error, refusal="too_late")
    return await post(client, row.url, token, policy.timeout)


async def post(client: httpx.AsyncClient, url: str | None, token: str, seconds: float) -> Answer:
    """One POST of `logout_token`, form-encoded (Back-Channel Logout 1.0 §2.5), bounded in
    total by `seconds` (a vendor that trickles its answer is cut off too). Never follows a
    redirect: the portal calls only the address registered within the vendor's domains."""
    if url is None:
        return Answer(410, "the vendor no longer has a sign-out notification address")
    try:
        async with asyncio.timeout(seconds):
            response = await client.post(url, data={"logout_token": token})
    except public_addresses.AddressRefused as exc:
        return Answer(None, str(exc), refusal="not_public")
    except TimeoutError:
        return Answer(None, f"no answer within {seconds:g} seconds")
    except httpx.HTTPError as exc:
        return Answer(None, f"could not connect ({type(exc).__name__})")
    if 200 <= response.status_code < 300:
        return Answer(response.status_code, None)
    return Answer(response.status_code, f"the vendor answered {response.status_code}")


async def settle(
    db: AsyncSession, row: Claimed, answer: Answer, policy: Policy, *, now: datetime
) -> None:
    delivered = answer.error is None
    pause = min(policy.backoff * 2 ** (row.attempts - 1), MAX_BACKOFF)
    give_up = not delivered and (
        not answer.retry or now + pause > row.created_at + policy.retry_for
    )
    values = {
        "id": row.id,
        "attempts": row.attempts,
        "delivered_at": now if delivered else None,
        "failed_at": now if give_up else None,
        "next_attempt_at": now + pause,
        "status": answer.status,
        "error": answer.error,
    }
    won = (await db.exec(text(SETTLE).bindparams(**values))).first()  # type: ignore[call-overload]
    if won is None or not (delivered or give_up):
        return
    details: dict[str, object] = {"status": answer.status, "attempts": row.attempts}
    if give_up:
        details["reason"] = answer.refusal or ("gave_up" if answer.retry else "refused")
        details["problem"] = answer.error
    await audit.record(
        db,
        "logout.notified",
        "success" if delivered else "failure",
        vendor_key=row.vendor_key,
        member_id=row.member_id,
        **details,
    )


def sending(settings: Settings) -> bool:
    """Whether this portal sends back-channel logouts: not without an issuer (development)."""
    return Policy.from_settings(settings) is not None


def init_app(app: Quart, settings: Settings) -> None:
    policy = Policy.from_settings(settings)

    background.run_while_serving(app, "logout_delivery", lambda: keep_delivering(app, policy))


async def keep_delivering(app: Quart, policy: Policy | None) -> None:
    if policy is None:
        log.warning("back-channel logout is off: set PORTAL_ISSUER or PORTAL_PUBLIC_URL")
        return
    async with policy.client() as client:
        while True:
            try:
                # Looked up each time: tests swap the clock after the app is built.
                claimed = await deliver_due(
                    app.extensions["db_sessions"], app.extensions["clock"], policy, client
                )
            except Exception as exc:  # the database is down, say: try again after a pause
                log.warning("delivering back-channel logouts failed: %s", one_line(exc))
                await asyncio.sleep(PAUSE_AFTER_FAILURE)
                continue
            if claimed < BATCH:
                await asyncio.sleep(POLL_SECONDS)
