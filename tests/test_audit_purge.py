"""`portal audit purge`: old events go, a checkpoint stays, the rest still verifies; an attacker
who deletes more, or moves the checkpoint, is still caught."""

from datetime import datetime, timedelta

import pytest

from portal import audit_purge
from portal.audit_chain import GENESIS
from portal.errors import PortalError
from tests.audit_tampering import NOW, add_events, scalar, seal, tamper, verify
from tests.flows import unit_of_work

OLD = NOW - timedelta(days=500)
RECENT = NOW - timedelta(days=10)
KEEP = timedelta(days=400)


async def purge(url: str, older_than: timedelta = KEEP, now: datetime = NOW) -> audit_purge.Purged:
    async with unit_of_work(url) as session:
        return await audit_purge.purge(session, older_than=older_than, now=now)


async def test_old_events_go_and_the_rest_still_verifies(database_url: str) -> None:
    old = await add_events(database_url, 4, at=OLD)
    recent = await add_events(database_url, 3, at=RECENT)
    purged = await purge(database_url)
    assert (purged.events, purged.cutoff, purged.checkpoint.seq) == (4, NOW - KEEP, 4)
    assert purged.checkpoint.event_id == old[-1]
    left = await scalar(database_url, "SELECT array_agg(id ORDER BY id) FROM audit_event")
    assert left[:3] == recent and len(left) == 4  # and the audit.purged event
    assert await scalar(database_url, "SELECT min(seq) FROM audit_seal") == 5
    report = await verify(database_url)
    assert report.ok and report.events == 4
    details = await scalar(
        database_url, "SELECT details FROM audit_event WHERE event = 'audit.purged'"
    )
    assert details["events"] == 4 and details["checkpoint_seq"] == 4
    assert details["cutoff"] == (NOW - KEEP).isoformat()


async def test_only_a_prefix_of_the_chain_goes(database_url: str) -> None:
    """An old event sealed after a recent one stays: removing it would leave a hole."""
    first = await add_events(database_url, 2, at=OLD)
    await add_events(database_url, 1, at=RECENT)
    straggler = await add_events(database_url, 1, at=OLD)
    assert (await purge(database_url)).events == 2
    left = await scalar(database_url, "SELECT array_agg(id ORDER BY id) FROM audit_event")
    assert straggler[0] in left and not set(first) & set(left)
    assert (await verify(database_url)).ok


async def test_a_second_purge_moves_the_checkpoint_on(database_url: str) -> None:
    await add_events(database_url, 2, at=OLD)
    await add_events(database_url, 2, at=RECENT)
    first = await purge(database_url)
    later = await purge(database_url, now=NOW + KEEP)
    assert later.events == 2 and later.checkpoint.seq == first.checkpoint.seq + 2
    assert (await verify(database_url)).ok


async def test_nothing_to_purge_keeps_the_whole_chain(database_url: str) -> None:
    await add_events(database_url, 3, at=RECENT)
    purged = await purge(database_url)
    assert (purged.events, purged.checkpoint.seq, purged.checkpoint.hash) == (0, 0, GENESIS)
    assert await scalar(database_url, "SELECT count(*) FROM audit_checkpoint") == 0
    assert (await verify(database_url)).ok


async def test_purging_everything_then_recording_more_verifies(database_url: str) -> None:
    await add_events(database_url, 3, at=OLD)
    assert (await verify(database_url)).ok
    await purge(database_url)
    await add_events(database_url, 2)
    assert (await verify(database_url)).ok


async def test_deleting_more_than_the_checkpoint_covers_is_reported(database_url: str) -> None:
    await add_events(database_url, 3, at=OLD)
    recent = await add_events(database_url, 3, at=RECENT)
    await purge(database_url)
    await tamper(
        database_url,
        f"DELETE FROM audit_event WHERE id = {recent[0]}",
        "DELETE FROM audit_seal WHERE seq = 4",
    )
    problem = (await verify(database_url)).problem
    assert problem is not None and problem.kind == "removed"
    assert f"before event {recent[1]}" in str(problem)


async def test_moving_the_checkpoint_to_a_real_link_is_reported(database_url: str) -> None:
    """The attacker copies seal 4 into the checkpoint before deleting it: the chain from there
    is intact, but no purge recorded that checkpoint."""
    await add_events(database_url, 3, at=OLD)
    recent = await add_events(database_url, 3, at=RECENT)
    await purge(database_url)
    await tamper(
        database_url,
        f"UPDATE audit_checkpoint SET seq = 4, event_id = {recent[0]},"
        " hash = (SELECT hash FROM audit_seal WHERE seq = 4)",
        f"DELETE FROM audit_event WHERE id = {recent[0]}",
        "DELETE FROM audit_seal WHERE seq = 4",
    )
    problem = (await verify(database_url)).problem
    assert problem is not None and problem.kind == "removed"
    assert "no purge recorded position 4" in str(problem)


async def test_a_broken_chain_is_not_purged(database_url: str) -> None:
    old = await add_events(database_url, 3, at=OLD)
    await seal(database_url)
    await tamper(database_url, f"UPDATE audit_event SET outcome = 'failure' WHERE id = {old[1]}")
    with pytest.raises(PortalError, match=f"event {old[1]} altered.*nothing was purged"):
        await purge(database_url)
    assert await scalar(database_url, "SELECT count(*) FROM audit_event") == 3


async def test_less_than_ninety_days_is_refused(database_url: str) -> None:
    await add_events(database_url, 3, at=OLD)
    with pytest.raises(PortalError, match="at least 90 days"):
        await purge(database_url, older_than=timedelta(days=89))
    assert await scalar(database_url, "SELECT count(*) FROM audit_event") == 3
