"""Throttling of sign-ins, per login name, per trusted device and per client network, held in
Postgres so that every worker on every host sees the same counters.

An attempt is *reserved* before the password is checked: one atomic upsert counts it as a
failure and refuses it when the policy says wait, so N parallel guesses get exactly what the
policy allows, never more. A success clears the count; an attempt the directory could not
answer is refunded.

Names: after `free_failures` consecutive failures each further attempt waits, the delay doubling
up to `max_delay`; after `lockout_failures` only staff can unlock (NIST 800-63B §5.2.2). Counters
are kept per login name as typed, never per account, so a throttled answer cannot reveal that an
email and a username belong to one account. Networks: after `address_failures` failures, each
within an hour of the last, the network waits an hour. A browser that signed in to the account
before (a device cookie, OWASP) is counted on its own and skips both, so a stranger cannot keep
a member out by failing on purpose."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, literal, not_, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.auth.devices import Device
from portal.auth.models import SignInThrottle
from portal.rate_limits import client_network
from portal.settings import Settings

HOUR = timedelta(hours=1)
TABLE = SignInThrottle.__table__  # type: ignore[attr-defined]
LOCKED = "locked"  # consecutive failures reached the lockout: only staff can unlock
DELAYED = "delayed"  # waiting out a growing delay; it ends by itself


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

    def blocked_until(self, failures: ColumnElement[int], now: datetime) -> ColumnElement[datetime]:
        """When an account that has just failed `failures` times may try again: NULL while attempts
        are free, then base_delay doubling per failure up to max_delay. Never `now` itself:
        requests read the clock in one order and reach the database in another."""
        seconds = self.base_delay.total_seconds() * func.power(
            2, func.least(failures - self.free_failures, 20)
        )
        capped = func.least(seconds, self.max_delay.total_seconds())
        return case(
            (failures < self.free_failures, None),
            else_=now + func.make_interval(0, 0, 0, 0, 0, 0, capped),
        )


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    locked: bool = False
    retry_after: int = 0  # seconds

    def wait_in_words(self) -> str:
        minutes = max(1, -(-self.retry_after // 60))
        return f"{minutes} minute{'s' * (minutes > 1)}"


@dataclass(frozen=True)
class Reservation:
    """What an allowed attempt counted: the account-side key, and the network's unless the
    browser is a trusted device."""

    key: str
    network: str | None


def name_key(kind: str, login: str) -> str:
    return f"{kind}:{login.strip().lower()}"


def device_key(kind: str, device: Device) -> str:
    # The subject id is in the key so that staff unlocking an account can clear its devices too.
    return f"device:{kind}:{device.subject_id}:{device.device_id}"


def member_keys(username: str, email: str | None) -> list[str]:
    """Every name a member signs in with: the one place the member throttle keys are spelled."""
    return [name_key("member", name) for name in (username, email) if name]


def member_locked(
    username: Mapped[str], email: Mapped[str | None], *, policy: Policy
) -> ColumnElement[bool]:
    """SQL: the member whose name columns these are is locked (a member list's filter). The
    keys are spelled as `name_key` spells them, beside it, so the two cannot drift apart."""
    return _member_names_in(
        username, email, col(SignInThrottle.consecutive_failures) >= policy.lockout_failures
    )


def member_delayed(
    username: Mapped[str], email: Mapped[str | None], *, now: datetime, policy: Policy
) -> ColumnElement[bool]:
    """SQL: the member is held back right now by a growing delay and not locked (DELAYED, as
    `_state` decides it for the badge), so the filter and the badge agree."""
    held_back = and_(
        col(SignInThrottle.blocked_until) > now,
        col(SignInThrottle.consecutive_failures) < policy.lockout_failures,
    )
    return and_(
        _member_names_in(username, email, held_back),
        not_(member_locked(username, email, policy=policy)),  # LOCKED wins over DELAYED
    )


def _member_names_in(
    username: Mapped[str], email: Mapped[str | None], state: ColumnElement[bool]
) -> ColumnElement[bool]:
    rows = select(SignInThrottle.subject).where(col(SignInThrottle.scope) == "account", state)

    def key(name: Mapped[Any]) -> ColumnElement[str]:
        return literal(name_key("member", "")) + func.lower(func.trim(name))

    return or_(key(username).in_(rows), key(email).in_(rows))


def staff_keys(email: str) -> list[str]:
    return [name_key("staff", email)]


async def reserve(
    db: AsyncSession, key: str, address: str | None, *, now: datetime, policy: Policy
) -> tuple[Verdict, Reservation | None]:
    """Count this attempt as a failure now, atomically, or refuse it. address None: a trusted
    device, which the network's counter does not hold back."""
    network = client_network(address) if address is not None else None
    network_counted, key_counted = await _count_attempt(db, key, network, now=now, policy=policy)
    if network is not None and not network_counted:
        return await _refusal(db, network, "address", now), None
    if not key_counted:
        if network is not None:
            await _refund_network(db, network, policy)
        return await _refusal(db, key, "account", now, policy.lockout_failures), None
    return Verdict(allowed=True), Reservation(key, network)


async def _count_attempt(
    db: AsyncSession, key: str, network: str | None, *, now: datetime, policy: Policy
) -> tuple[bool, bool]:
    """The network's count, then (only if the network allows it) the key's, in ONE statement:
    every attempt from a shared address (an office, a conference's Wi-Fi) locks the network's
    row, and a statement of its own per counter held that lock across round trips, so that
    their sign-ins took turns. Rows are locked network first, then key (see refund)."""
    key_upsert = _key_upsert(key, now=now, policy=policy)
    if network is None:
        counted = (await db.exec(key_upsert.returning(TABLE.c.scope))).first() is not None
        return True, counted
    network_counted = (
        _network_upsert(network, now=now, policy=policy).returning(TABLE.c.scope).cte()
    )
    key_counted = (
        _key_upsert(key, now=now, policy=policy, only_if=exists(select(network_counted.c.scope)))
        .returning(TABLE.c.scope)
        .cte()
    )
    row = (
        await db.exec(
            select(exists(select(network_counted.c.scope)), exists(select(key_counted.c.scope)))
        )
    ).one()
    return bool(row[0]), bool(row[1])


def _key_upsert(
    key: str, *, now: datetime, policy: Policy, only_if: ColumnElement[bool] | None = None
) -> Any:
    """One failure more for the key, unless it is locked out or waiting; with `only_if`, only
    when that holds too."""
    failures = TABLE.c.consecutive_failures + 1
    values: dict[str, ColumnElement[Any]] = {
        "scope": literal("account"),
        "subject": literal(key),
        "consecutive_failures": literal(1),
        "last_failure_at": literal(now),
        "blocked_until": policy.blocked_until(literal(1), now),
    }
    source = select(*(value.label(name) for name, value in values.items()))
    if only_if is not None:
        source = source.where(only_if)
    return (
        insert(TABLE)
        .from_select(list(values), source)
        .on_conflict_do_update(
            index_elements=["scope", "subject"],
            set_={
                "consecutive_failures": failures,
                "last_failure_at": now,
                "blocked_until": policy.blocked_until(failures, now),
            },
            where=and_(TABLE.c.consecutive_failures < policy.lockout_failures, _free(now)),
        )
    )


def _network_upsert(network: str, *, now: datetime, policy: Policy) -> Any:
    """A windowed count: it starts again when the last failure is more than an hour old."""
    recent = case((TABLE.c.last_failure_at > now - HOUR, TABLE.c.consecutive_failures), else_=0)
    return (
        insert(TABLE)
        .values(
            scope="address",
            subject=network,
            consecutive_failures=1,
            last_failure_at=now,
            blocked_until=_network_block(literal(1), now, policy),
        )
        .on_conflict_do_update(
            index_elements=["scope", "subject"],
            set_={
                "consecutive_failures": recent + 1,
                "last_failure_at": now,
                "blocked_until": _network_block(recent + 1, now, policy),
            },
            where=_free(now),
        )
    )


def _network_block(
    failures: ColumnElement[int], now: datetime, policy: Policy
) -> ColumnElement[datetime]:
    return case((failures >= policy.address_failures, now + HOUR), else_=None)


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(TABLE.c.blocked_until.is_(None), TABLE.c.blocked_until <= now)


async def _refusal(
    db: AsyncSession, subject: str, scope: str, now: datetime, lockout: int | None = None
) -> Verdict:
    row = await _row(db, scope, subject)
    if row is None:  # cleared between the two statements: refuse this once, without a wait
        return Verdict(allowed=False, retry_after=1)
    if lockout is not None and row.consecutive_failures >= lockout:
        return Verdict(allowed=False, locked=True)
    wait = (row.blocked_until - now).total_seconds() if row.blocked_until else 0
    return Verdict(allowed=False, retry_after=max(1, int(wait) + 1))


async def _row(db: AsyncSession, scope: str, subject: str) -> SignInThrottle | None:
    query = select(SignInThrottle).where(
        SignInThrottle.scope == scope, SignInThrottle.subject == subject
    )
    return (await db.exec(query)).first()


async def succeeded(db: AsyncSession, reservation: Reservation) -> None:
    """The password was right: the key's failures are forgotten. The network's reservation is
    given back by `give_back_network`, in a transaction of its own (see sign_in)."""
    await clear(db, [reservation.key])


async def give_back_network(db: AsyncSession, reservation: Reservation, policy: Policy) -> None:
    if reservation.network is not None:
        await _refund_network(db, reservation.network, policy)


async def refund(db: AsyncSession, reservation: Reservation, policy: Policy) -> None:
    """The directory could not answer: the attempt counts for nothing. Rows are always locked
    network first, then key, as `reserve` does: the other order deadlocked with a parallel
    attempt of the same name from the same network."""
    if reservation.network is not None:
        await _refund_network(db, reservation.network, policy)
    await _give_back(db, "account", reservation.key, policy.free_failures)


async def _refund_network(db: AsyncSession, network: str, policy: Policy) -> None:
    await _give_back(db, "address", network, policy.address_failures)


async def _give_back(db: AsyncSession, scope: str, subject: str, blocking_count: int) -> None:
    """One reserved failure less; the block it set goes when the count falls below where
    blocking starts."""
    failures = TABLE.c.consecutive_failures
    await db.exec(
        update(TABLE)
        .where(TABLE.c.scope == scope, TABLE.c.subject == subject)
        .values(
            consecutive_failures=func.greatest(failures - 1, 0),
            blocked_until=case((failures - 1 < blocking_count, None), else_=TABLE.c.blocked_until),
        )
    )


async def clear(db: AsyncSession, keys: list[str]) -> None:
    """Forget these keys' failures: after a good sign-in, or when staff unlock an account."""
    await db.exec(
        delete(SignInThrottle).where(
            col(SignInThrottle.scope) == "account", col(SignInThrottle.subject).in_(keys)
        )
    )


async def unlock(db: AsyncSession, kind: str, subject_id: int, keys: list[str]) -> None:
    """Staff unlock an account: its names and every device that signed in to it."""
    await clear(db, keys)
    await db.exec(
        delete(SignInThrottle).where(
            col(SignInThrottle.scope) == "account",
            col(SignInThrottle.subject).startswith(f"device:{kind}:{subject_id}:", autoescape=True),
        )
    )


async def account_states(
    db: AsyncSession, accounts: dict[int, list[str]], *, now: datetime, policy: Policy
) -> dict[int, str]:
    """{account id: LOCKED or DELAYED} for the accounts (id: its keys) whose names refuse
    sign-ins from unknown browsers right now; LOCKED wins over DELAYED."""
    keys = [key for names in accounts.values() for key in names]
    if not keys:
        return {}
    rows = await db.exec(
        select(SignInThrottle).where(
            col(SignInThrottle.scope) == "account", col(SignInThrottle.subject).in_(keys)
        )
    )
    by_key = {row.subject: state for row in rows if (state := _state(row, now, policy))}
    states: dict[int, str] = {}
    for account, names in accounts.items():
        found = {by_key[name] for name in names if name in by_key}
        if found:
            states[account] = LOCKED if LOCKED in found else DELAYED
    return states


def _state(row: SignInThrottle, now: datetime, policy: Policy) -> str | None:
    if row.consecutive_failures >= policy.lockout_failures:
        return LOCKED
    if row.blocked_until is not None and row.blocked_until > now:
        return DELAYED
    return None


async def count_refusing_accounts(db: AsyncSession, *, now: datetime, policy: Policy) -> int:
    """Login names (members, staff and unknown names alike) that refuse sign-ins right now."""
    query = select(func.count()).where(
        col(SignInThrottle.scope) == "account",
        col(SignInThrottle.subject).not_like("device:%"),
        col(SignInThrottle.subject).not_like("reset:%"),  # password-reset requests sign nobody in
        or_(
            col(SignInThrottle.consecutive_failures) >= policy.lockout_failures,
            col(SignInThrottle.blocked_until) > now,
        ),
    )
    return int((await db.exec(query)).one())


async def count_locked_names(db: AsyncSession, *, policy: Policy) -> int:
    """Login names (members, staff and unknown names alike) locked until staff unlock them."""
    query = select(func.count()).where(
        col(SignInThrottle.scope) == "account",
        col(SignInThrottle.subject).not_like("device:%"),
        col(SignInThrottle.consecutive_failures) >= policy.lockout_failures,
    )
    return int((await db.exec(query)).one())
