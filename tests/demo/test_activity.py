"""`portal demo`'s month of activity: realistic, in the audit log's chain, seeded only once."""

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from portal.audit_models import AuditEvent
from portal.demo import activity, data
from tests.cli_runner import Runner
from tests.flows import unit_of_work

NOW = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)


async def seed_twice(database_url: str) -> tuple[int, int, list[AuditEvent]]:
    async with unit_of_work(database_url) as session:
        await data.ensure(session)
        first = await activity.seed_demo(session, now=NOW)
    async with unit_of_work(database_url) as session:
        second = await activity.seed_demo(session, now=NOW)
        events = list(await session.exec(select(AuditEvent).order_by(AuditEvent.id)))
    return first, second, events


def test_a_month_of_activity_across_the_demo_vendors_once_and_verifiable(
    portal: Runner,
) -> None:
    first, second, events = asyncio.run(seed_twice(portal.url))
    assert first == len(events) > 200 and second == 0
    days = {e.occurred_at.date() for e in events if e.occurred_at}
    assert len(days) == activity.DAYS
    assert all(e.occurred_at and NOW - timedelta(days=31) < e.occurred_at < NOW for e in events)
    times = [e.occurred_at for e in events]
    assert times == sorted(times)  # in time order, so ids and times agree
    kinds = Counter((e.event, e.outcome, e.details.get("reason")) for e in events)
    assert kinds[("sign_in", "success", None)] > 100
    assert kinds[("sign_in", "failure", "wrong_password")] >= 3
    assert kinds[("sso.passive", "failure", "login_required")] >= 2
    assert kinds[("token.replay", "failure", "replay")] == 1
    redeemed = {e.vendor_key for e in events if e.event == "token.redeemed"}
    enhanced = {key for key, _, _ in data.DEMO_VENDORS} - data.OIDC_VENDORS - data.SAML_VENDORS
    assert redeemed == enhanced

    code, out, err = portal("audit", "verify", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["events"] == len(events)


async def seed_after_a_real_sign_in(database_url: str) -> int:
    async with unit_of_work(database_url) as session:
        await data.ensure(session)
        session.add(AuditEvent(event="sign_in", outcome="success", username="ada"))
    async with unit_of_work(database_url) as session:
        return await activity.seed_demo(session, now=NOW)


def test_a_log_that_has_seen_a_sign_in_is_left_alone(database_url: str) -> None:
    assert asyncio.run(seed_after_a_real_sign_in(database_url)) == 0
