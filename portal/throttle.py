"""Throttling of failed sign-ins, per account and per client address, held in Postgres so that
every worker on every host sees the same counters.

Accounts: after `free_failures` consecutive failures each further attempt waits, the delay
doubling up to `max_delay`; after `lockout_failures` consecutive failures only staff can unlock
(NIST 800-63B §5.2.2). Addresses: after `address_failures` failures, each within an hour of
the previous one, the address waits an hour (a pause of an hour starts the count again).
Unknown usernames are counted exactly like real ones, so a throttled answer reveals nothing."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import case, delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.models import RateCounter, SignInThrottle
from portal.settings import Settings

HOUR = timedelta(hours=1)
T = TypeVar("T")


@dataclass(frozen=True)
class Policy:
    free_failures: int
    base_delay: timedelta
    max_delay: timedelta
    lockout_failures: int
    address_failures: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        return cls(
            free_failures=settings.throttle_free_failures,
            base_delay=timedelta(seconds=settings.throttle_base_delay_seconds),
            max_delay=timedelta(seconds=settings.throttle_max_delay_seconds),
            lockout_failures=settings.throttle_lockout_failures,
            address_failures=settings.throttle_address_failures,
        )

    def account_delay(self, failures: int) -> timedelta:
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 20)
        delay: timedelta = min(self.base_delay * 2**doublings, self.max_delay)
        return delay


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    locked: bool = False
    retry_after: int = 0  # seconds


async def _row(db: AsyncSession, scope: str, subject: str) -> SignInThrottle | None:
    query = select(SignInThrottle).where(
        SignInThrottle.scope == scope, SignInThrottle.subject == subject
    )
    return (await db.exec(query)).first()


async def check(
    db: AsyncSession, account: str, address: str, *, now: datetime, policy: Policy
) -> Verdict:
    account_row = await _row(db, "account", account)
    if account_row is not None and account_row.consecutive_failures >= policy.lockout_failures:
        return Verdict(allowed=False, locked=True)
    waits = [0]
    for row in (account_row, await _row(db, "address", address)):
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            waits.append(int((row.blocked_until - now).total_seconds()) + 1)
    return Verdict(allowed=max(waits) == 0, retry_after=max(waits))


async def record_failure(
    db: AsyncSession, account: str, address: str, *, now: datetime, policy: Policy
) -> None:
    failures = await _count_failure(db, "account", account, now=now, window=None)
    await _block(db, "account", account, now + policy.account_delay(failures), now)
    failures = await _count_failure(db, "address", address, now=now, window=HOUR)
    if failures >= policy.address_failures:
        await _block(db, "address", address, now + HOUR, now)


async def _count_failure(
    db: AsyncSession, scope: str, subject: str, *, now: datetime, window: timedelta | None
) -> int:
    """Add one failure atomically (the row lock serialises concurrent workers); a windowed
    counter starts again when its last failure is older than the window."""
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    previous = table.c.consecutive_failures
    if window is not None:
        previous = case((table.c.last_failure_at > now - window, previous), else_=0)
    statement = (
        insert(table)
        .values(scope=scope, subject=subject, consecutive_failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=["scope", "subject"],
            set_={"consecutive_failures": previous + 1, "last_failure_at": now},
        )
        .returning(table.c.consecutive_failures)
    )
    return int((await db.exec(statement)).scalar_one())


async def _block(
    db: AsyncSession, scope: str, subject: str, until: datetime, now: datetime
) -> None:
    if until > now:
        await db.exec(
            update(SignInThrottle)
            .where(col(SignInThrottle.scope) == scope, col(SignInThrottle.subject) == subject)
            .values(blocked_until=until)
        )


async def record_success(db: AsyncSession, account: str) -> None:
    await clear(db, account)


async def clear(db: AsyncSession, account: str) -> None:
    """Forget an account's failures: after a good sign-in, or when staff unlock it."""
    await db.exec(
        delete(SignInThrottle).where(
            col(SignInThrottle.scope) == "account", col(SignInThrottle.subject) == account
        )
    )


async def is_locked(db: AsyncSession, account: str, policy: Policy) -> bool:
    row = await _row(db, "account", account)
    return row is not None and row.consecutive_failures >= policy.lockout_failures


async def guarded(
    db: AsyncSession,
    account: str,
    address: str,
    *,
    verify: Callable[[], Awaitable[T | None]],
    now: datetime,
    policy: Policy,
) -> tuple[Verdict, T | None]:
    """Check the throttle, and only if allowed run `verify` (the password check) and count its
    result: something on success, None on failure. Returns the verdict and that result."""
    verdict = await check(db, account, address, now=now, policy=policy)
    if not verdict.allowed:
        return verdict, None
    result = await verify()
    if result:
        await record_success(db, account)
        return verdict, result
    await record_failure(db, account, address, now=now, policy=policy)
    return verdict, None


async def over_rate(db: AsyncSession, bucket: str, *, now: datetime, limit: int) -> int:
    """Count one call in this minute's window for `bucket`; 0 when within `limit`, else the
    seconds until the window ends (for Retry-After)."""
    window = now.replace(second=0, microsecond=0)
    table = RateCounter.__table__  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .values(bucket=bucket, window_start=window, hits=1)
        .on_conflict_do_update(
            index_elements=["bucket", "window_start"], set_={"hits": table.c.hits + 1}
        )
        .returning(table.c.hits)
    )
    hits = int((await db.exec(statement)).scalar_one())
    if hits == 1:  # first call of a new window: drop this bucket's old windows
        await db.exec(
            delete(RateCounter).where(
                col(RateCounter.bucket) == bucket, col(RateCounter.window_start) < window
            )
        )
    if hits <= limit:
        return 0
    return max(1, 60 - now.second)


LOCKED = "locked"  # consecutive failures reached the lockout: only staff can unlock
DELAYED = "delayed"  # waiting out a growing delay; it ends by itself


async def account_states(
    db: AsyncSession, accounts: list[str], *, now: datetime, policy: Policy
) -> dict[str, str]:
    """{account: LOCKED or DELAYED} for those of `accounts` that refuse sign-ins right now."""
    if not accounts:
        return {}
    rows = await db.exec(
        select(SignInThrottle).where(
            col(SignInThrottle.scope) == "account", col(SignInThrottle.subject).in_(accounts)
        )
    )
    return {row.subject: state for row in rows if (state := _state(row, now, policy))}


def _state(row: SignInThrottle, now: datetime, policy: Policy) -> str | None:
    if row.consecutive_failures >= policy.lockout_failures:
        return LOCKED
    if row.blocked_until is not None and row.blocked_until > now:
        return DELAYED
    return None


async def count_refusing_accounts(db: AsyncSession, *, now: datetime, policy: Policy) -> int:
    """Accounts (members, staff and unknown names alike) that refuse sign-ins right now."""
    query = select(func.count()).where(
        col(SignInThrottle.scope) == "account",
        or_(
            col(SignInThrottle.consecutive_failures) >= policy.lockout_failures,
            col(SignInThrottle.blocked_until) > now,
        ),
    )
    return int((await db.exec(query)).one())
