"""Retention: delete the rows that no longer protect anyone, so no table grows forever.
Run by every worker every few minutes (portal/maintenance.py) and by `portal purge`; an
advisory lock lets one of them at a time do it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, delete, false, or_
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import front_ends, locks
from portal.auth.models import AuthSession, SignInThrottle
from portal.models import AccountLink, RateCounter
from portal.outbox.models import OutboxItem
from portal.settings import Settings


@dataclass(frozen=True)
class Policy:
    token_age: timedelta
    session_age: timedelta
    throttle_age: timedelta
    lockout_failures: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        return cls(
            # A redeemed token presented again ends the session it came from (a replay): keep
            # it as long as that session could be alive.
            token_age=max(
                timedelta(days=settings.retention_token_days),
                timedelta(hours=settings.session_max_hours),
            ),
            session_age=timedelta(days=settings.retention_session_days),
            throttle_age=timedelta(days=settings.retention_throttle_days),
            lockout_failures=settings.throttle_lockout_failures,
        )


async def purge(
    db: AsyncSession, *, now: datetime, policy: Policy, wait: bool = False
) -> dict[str, int] | None:
    """{table: rows deleted}; None when another worker is purging right now."""
    if not await locks.take(db, locks.RETENTION, wait=wait):
        return None
    sessions, counters = _table(AuthSession), _table(RateCounter)
    throttle, links, outbox = _table(SignInThrottle), _table(AccountLink), _table(OutboxItem)
    kept = front_ends.kept_sessions(now)
    rules: list[tuple[Table, ColumnElement[bool]]] = [
        # Each front end's own rows (its tokens), by its rules (portal/front_ends.py).
        *front_ends.purge_rules(now, policy.token_age),
        # A session's tokens, grants, the vendors it reached and its logout deliveries go with it
        # (ON DELETE CASCADE) — but not while a front end still needs it (offline access it gave
        # is in force: its grant needs the session's sid).
        (
            sessions,
            or_(
                sessions.c.ended_at < now - policy.session_age,
                sessions.c.expires_at < now - policy.session_age,
            )
            & ~or_(false(), *(sessions.c.id.in_(ids) for ids in kept)),
        ),
        # Networks before names: the order a sign-in attempt locks them in, so the two never
        # wait for each other in a circle.
        (throttle, _forgettable_throttle(now, policy) & (throttle.c.scope == "address")),
        (throttle, _forgettable_throttle(now, policy) & (throttle.c.scope == "account")),
        # rate_limits.hit only ever counts in the current minute's window.
        (counters, counters.c.window_start < now.replace(second=0, microsecond=0)),
        # A password link past its time opens nothing; who was invited stays on the member.
        (links, links.c.expires_at < now - policy.token_age),
        # Delivered or given-up outbox rows (mail's bodies already dropped): kept as long as
        # sessions are. A logout notice goes with its session before that, as a rule.
        (
            outbox,
            or_(
                outbox.c.delivered_at < now - policy.session_age,
                outbox.c.failed_at < now - policy.session_age,
            ),
        ),
    ]
    deleted: dict[str, int] = {}
    for table, rule in rules:
        result = await db.exec(delete(table).where(rule))
        deleted[table.name] = deleted.get(table.name, 0) + int(result.rowcount)
    return deleted


def _forgettable_throttle(now: datetime, policy: Policy) -> ColumnElement[bool]:
    """A counter with no delay in force and no failure for `throttle_age`. Never a locked one:
    only staff unlock an account. Not sooner than that: forgetting failures after a day would
    let a patient guesser try lockout - 1 passwords a day for ever."""
    table = _table(SignInThrottle)
    return (
        (table.c.consecutive_failures < policy.lockout_failures)
        & or_(table.c.blocked_until.is_(None), table.c.blocked_until <= now)
        & (table.c.last_failure_at < now - policy.throttle_age)
    )


def _table(model: type) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table
