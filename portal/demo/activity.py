"""Thirty days of made-up activity for `portal demo`, so the dashboard's first view shows what a
working portal looks like: members signing in and moving between the demo vendors, a few wrong
passwords, a passive check that found nobody signed in, one replayed token.

The events go into the audit log through `audit.entry`, the one place an event's content is
checked, in time order, and are not counted in the metrics (nothing happened in this process).
The sealer chains them like any others, so `portal audit verify` passes. Seeded once, into a
log that has never seen a sign-in: a real portal's log is never touched."""

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, members
from portal.audit_models import AuditEvent
from portal.demo.data import DEMO_VENDORS, OIDC_VENDORS, SAML_VENDORS

DAYS = 30
# Documentation addresses (RFC 5737): members' home and office networks, none of them real.
ADDRESSES = ("192.0.2.14", "192.0.2.77", "198.51.100.23", "198.51.100.140", "203.0.113.9")
SEED = 13  # the same month of activity every time
LATEST = timedelta(minutes=10)  # a visit's tokens follow it within minutes, still in the past
ACTIVE_MEMBERS = ("ada", "grace")  # the demo members whose membership is current


@dataclass(frozen=True)
class Member:
    id: int
    username: str


@dataclass(frozen=True)
class Planned:
    at: datetime
    event: str
    outcome: str
    fields: dict[str, Any]


async def seed_demo(db: AsyncSession, *, now: datetime) -> int:
    """The month of activity for the demo members and vendors (portal/demo/data.py)."""
    found = [await members.select_member_by_login(db, name) for name in ACTIVE_MEMBERS]
    active = [Member(m.id, m.username) for m in found if m is not None and m.id is not None]
    # Enhanced SSO's events only: the OIDC and SAML vendors' months would need other events'
    # shapes.
    enhanced = [key for key, _, _ in DEMO_VENDORS if key not in OIDC_VENDORS | SAML_VENDORS]
    return await seed(db, active, enhanced, now=now)


async def seed(
    db: AsyncSession, members: Sequence[Member], vendor_keys: Sequence[str], *, now: datetime
) -> int:
    """Add the month of activity unless the log already holds a sign-in; how many events."""
    if not members or not vendor_keys or await has_sign_ins(db):
        return 0
    planned = sorted(plan(members, vendor_keys, now=now), key=lambda p: p.at)
    for event in planned:
        row = audit.entry(event.event, event.outcome, **event.fields)
        row.occurred_at = event.at
        db.add(row)
    await db.flush()
    return len(planned)


async def has_sign_ins(db: AsyncSession) -> bool:
    query = select(AuditEvent.id).where(col(AuditEvent.event) == "sign_in").limit(1)
    return (await db.exec(query)).first() is not None


def plan(
    members: Sequence[Member], vendor_keys: Sequence[str], *, now: datetime
) -> Iterator[Planned]:
    rng = random.Random(SEED)  # noqa: S311 - made-up activity, not a secret
    today = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    for days_ago in range(DAYS):
        day = today - timedelta(days=days_ago)
        # Office hours, 07:00 to 21:00 UTC, and today only until a few minutes ago.
        start, end = day + timedelta(hours=7), min(day + timedelta(hours=21), now - LATEST)
        if end <= start:
            start = day
        if end <= start:
            continue
        span = int((end - start).total_seconds())
        weekend = day.weekday() >= 5
        for _ in range(rng.randint(2, 4) if weekend else rng.randint(6, 12)):
            at = start + timedelta(seconds=rng.randint(0, span))
            yield from visit(rng, rng.choice(members), vendor_keys, at)
        if days_ago % 6 == 2:
            yield wrong_password(rng, rng.choice(members), start + timedelta(seconds=span // 3))
        if days_ago % 9 == 4:
            yield Planned(start + timedelta(seconds=span // 2), "sso.passive", "failure", {
                "vendor_key": vendor_keys[0], "client_address": rng.choice(ADDRESSES),
                "reason": "login_required",
            })  # fmt: skip
    # Within the last day, so the overview's "Vendors with errors" has one to show.
    replayed_at = now - timedelta(hours=2)
    yield Planned(replayed_at, "token.replay", "failure", {
        "vendor_key": vendor_keys[-1], "client_address": ADDRESSES[0], "reason": "replay",
    })  # fmt: skip


def visit(
    rng: random.Random, member: Member, vendor_keys: Sequence[str], at: datetime
) -> Iterator[Planned]:
    """A member signs in, then reaches one or more vendor sites (a token issued, then redeemed
    by the vendor a moment later)."""
    address = rng.choice(ADDRESSES)
    who = {"member_id": member.id, "client_address": address}
    yield Planned(at, "sign_in", "success", {**who, "username": member.username})
    count = rng.randint(1, len(vendor_keys))
    for i, key in enumerate(rng.sample(list(vendor_keys), count)):
        issued = at + timedelta(seconds=2 + 90 * i)
        yield Planned(issued, "token.issued", "success", {**who, "vendor_key": key})
        redeemed = issued + timedelta(milliseconds=rng.randint(150, 900))
        yield Planned(redeemed, "token.redeemed", "success", {
            "member_id": member.id, "vendor_key": key, "client_address": "127.0.0.1",
        })  # fmt: skip


def wrong_password(rng: random.Random, member: Member, at: datetime) -> Planned:
    return Planned(at, "sign_in", "failure", {
        "member_id": member.id, "username": member.username,
        "client_address": rng.choice(ADDRESSES), "reason": "wrong_password",
    })  # fmt: skip
