"""The audit log's hash chain: sealing in order, under concurrency, and every kind of tampering
an attacker with full SQL access can do, caught by verify."""

import asyncio
import hashlib
import random

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import audit_chain
from portal.audit_chain import GENESIS, SEAL_WINDOW
from tests.audit_tampering import NOW, add_events, scalar, seal, tamper, verify
from tests.flows import unit_of_work


async def seal_order(url: str) -> list[int]:
    rows = await scalar(url, "SELECT array_agg(event_id ORDER BY seq) FROM audit_seal")
    return list(rows or [])


async def test_committed_events_are_sealed_in_id_order(database_url: str) -> None:
    ids = await add_events(database_url, 5)
    assert await seal(database_url) == 5
    assert await seal_order(database_url) == ids
    assert await scalar(database_url, "SELECT array_agg(seq ORDER BY seq) FROM audit_seal") == [
        1, 2, 3, 4, 5
    ]  # fmt: skip
    assert await seal(database_url) == 0
    report = await verify(database_url)
    assert (report.ok, report.events, report.head.seq) == (True, 5, 5)


async def test_the_first_hash_is_sha256_of_genesis_and_the_documented_content(
    database_url: str,
) -> None:
    """The canonical form is fixed, so anyone can recompute the chain from the database."""
    details = {"reason": "bad_password", "n": 1.5, "é": [True, None]}
    [event_id] = await add_events(
        database_url, 1, outcome="failure", vendor_key="acme", member_id=7, username="ada",
        client_address="203.0.113.7", details=details,
    )  # fmt: skip
    await seal(database_url)
    content = (
        '{"client_address":"203.0.113.7",'
        '"details":"{\\"n\\": 1.5, \\"é\\": [true, null], \\"reason\\": \\"bad_password\\"}",'
        f'"event":"sign_in","id":{event_id},"member_id":7,'
        '"occurred_at":"2026-11-27T12:00:00+00:00","outcome":"failure","staff_email":null,'
        '"username":"ada","vendor_key":"acme"}'
    )
    expected = hashlib.sha256(GENESIS.encode() + content.encode()).hexdigest()
    assert await scalar(database_url, "SELECT hash FROM audit_seal WHERE seq = 1") == expected


async def test_a_late_commit_is_sealed_at_the_next_run(database_url: str) -> None:
    async with unit_of_work(database_url) as slow:
        [early] = await add_events(database_url, 1)  # committed first, so it gets sealed first
        await slow.exec(text("INSERT INTO audit_event (event, outcome) VALUES ('late', 'success')"))  # type: ignore[call-overload]
        [later] = await add_events(database_url, 1)
        assert await seal(database_url) == 2
    late = await scalar(database_url, "SELECT id FROM audit_event WHERE event = 'late'")
    assert early < late < later
    assert await seal(database_url) == 1
    assert await seal_order(database_url) == [early, later, late]
    assert (await verify(database_url)).ok


async def test_only_one_sealer_runs_at_a_time(database_url: str) -> None:
    await add_events(database_url, 3)
    async with unit_of_work(database_url) as first:
        assert await audit_chain.seal(first, now=NOW) == 3
        # Another connection skips, without error or waiting (a wait would never end here).
        assert await asyncio.wait_for(seal(database_url), timeout=30) is None
    assert await seal(database_url) == 0


async def test_concurrent_writers_and_sealers_seal_every_event_exactly_once(
    database_url: str,
) -> None:
    rng = random.Random(9)
    done = asyncio.Event()

    async def writer() -> None:
        for _ in range(15):
            await add_events(database_url, rng.randint(1, 4))
            await asyncio.sleep(0)

    async def sealer() -> None:
        while not done.is_set():
            await seal(database_url)

    sealers = [asyncio.create_task(sealer()) for _ in range(2)]
    await asyncio.gather(*(writer() for _ in range(4)))
    done.set()
    await asyncio.gather(*sealers)
    report = await verify(database_url)
    events = await scalar(database_url, "SELECT count(*) FROM audit_event")
    assert report.ok and report.events == events > 60
    assert await scalar(database_url, "SELECT count(DISTINCT event_id) FROM audit_seal") == events
    assert await scalar(database_url, "SELECT max(seq) FROM audit_seal") == events


async def test_seals_are_append_only(database_url: str) -> None:
    await add_events(database_url, 2)
    await seal(database_url)
    for statement in (
        "UPDATE audit_seal SET hash = repeat('0', 64)",
        "DELETE FROM audit_seal",
        "TRUNCATE audit_seal",
        "DELETE FROM audit_checkpoint",
        "DELETE FROM audit_verification",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with unit_of_work(database_url) as session:
                await session.exec(text(statement))  # type: ignore[call-overload]
    assert await scalar(database_url, "SELECT count(*) FROM audit_seal") == 2


async def test_the_purge_flag_allows_deletes_but_never_updates(database_url: str) -> None:
    await add_events(database_url, 1)
    async with unit_of_work(database_url) as session:
        await session.exec(text("SET LOCAL portal.audit_purge = 'on'"))  # type: ignore[call-overload]
        with pytest.raises(DBAPIError, match="append-only"):
            await session.exec(text("UPDATE audit_event SET outcome = 'failure'"))  # type: ignore[call-overload]
        await session.rollback()
    assert await scalar(database_url, "SELECT outcome FROM audit_event") == "success"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event", "'sign_out'"),
        ("outcome", "'failure'"),
        ("occurred_at", "occurred_at - interval '1 microsecond'"),
        ("vendor_key", "'evil'"),
        ("member_id", "42"),
        ("username", "'mallory'"),
        ("staff_email", "'mallory@example.org'"),
        ("client_address", "'198.51.100.1'"),
        ("request_id", "'someone-elses-request'"),
        ("details", """'{"i": 7}'"""),
        ("details", """'{"i": 2.0}'"""),  # the same number to Python, not to the log
    ],
)
async def test_an_altered_event_is_reported(database_url: str, column: str, value: str) -> None:
    ids = await add_events(database_url, 5)
    await seal(database_url)
    await tamper(database_url, f"UPDATE audit_event SET {column} = {value} WHERE id = {ids[2]}")
    report = await verify(database_url)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.event_id) == ("altered", ids[2])
    assert report.events == 2


async def test_a_request_id_is_sealed_with_its_event(database_url: str) -> None:
    ids = await add_events(database_url, 3, request_id="4f1c9a2e7b1d4a8e")
    await seal(database_url)
    assert (await verify(database_url)).ok
    await tamper(database_url, f"UPDATE audit_event SET request_id = NULL WHERE id = {ids[1]}")
    problem = (await verify(database_url)).problem
    assert problem is not None and (problem.kind, problem.event_id) == ("altered", ids[1])


async def test_an_altered_seal_is_reported(database_url: str) -> None:
    ids = await add_events(database_url, 3)
    await seal(database_url)
    await tamper(database_url, "UPDATE audit_seal SET hash = repeat('a', 64) WHERE seq = 2")
    problem = (await verify(database_url)).problem
    assert problem is not None and (problem.kind, problem.event_id) == ("altered", ids[1])


async def test_a_deleted_event_is_reported_as_removed(database_url: str) -> None:
    ids = await add_events(database_url, 5)
    await seal(database_url)
    await tamper(database_url, f"DELETE FROM audit_event WHERE id = {ids[3]}")
    problem = (await verify(database_url)).problem
    assert problem is not None and (problem.kind, problem.event_id) == ("removed", ids[3])


async def test_an_event_deleted_with_its_seal_is_reported_as_removed(database_url: str) -> None:
    ids = await add_events(database_url, 5)
    await seal(database_url)
    await tamper(
        database_url,
        f"DELETE FROM audit_event WHERE id = {ids[1]}",
        "DELETE FROM audit_seal WHERE seq = 2",
    )
    problem = (await verify(database_url)).problem
    assert problem is not None and problem.kind == "removed"
    assert f"before event {ids[2]}" in str(problem) and "positions 2-2" in str(problem)


async def test_renumbered_seals_after_a_deletion_break_the_chain(database_url: str) -> None:
    ids = await add_events(database_url, 4)
    await seal(database_url)
    await tamper(
        database_url,
        f"DELETE FROM audit_event WHERE id = {ids[1]}",
        "DELETE FROM audit_seal WHERE seq = 2",
        "UPDATE audit_seal SET seq = seq - 1 WHERE seq > 2",
    )
    problem = (await verify(database_url)).problem
    assert problem is not None and (problem.kind, problem.event_id) == ("altered", ids[2])


async def test_a_forged_event_with_an_old_id_is_reported_as_inserted(database_url: str) -> None:
    await scalar(database_url, "SELECT setval('audit_event_id_seq', 10)")  # ids 1-10 unused
    ids = await add_events(database_url, SEAL_WINDOW + 200)
    await seal(database_url)
    await tamper(
        database_url, "INSERT INTO audit_event (id, event, outcome) VALUES (5, 'forged', 'success')"
    )
    problem = (await verify(database_url)).problem
    assert problem is not None and (problem.kind, problem.event_id) == ("inserted", 5)
    assert ids[0] == 11


async def test_a_cut_off_tail_is_reported_after_a_verification(database_url: str) -> None:
    ids = await add_events(database_url, 5)
    assert (await verify(database_url)).ok
    await tamper(
        database_url,
        f"DELETE FROM audit_event WHERE id >= {ids[3]}",
        "DELETE FROM audit_seal WHERE seq >= 4",
    )
    problem = (await verify(database_url)).problem
    assert problem is not None and problem.kind == "removed"
    assert "end" in str(problem) and "position 5" in str(problem)


async def test_a_recomputed_chain_is_reported_after_a_verification(database_url: str) -> None:
    """The attacker alters an event and recomputes every later seal: the chain is consistent
    again, but the head the last verification saw has another hash."""
    ids = await add_events(database_url, 4)
    assert (await verify(database_url)).ok
    await tamper(database_url, f"UPDATE audit_event SET outcome = 'failure' WHERE id = {ids[1]}")
    previous, statements = GENESIS, []
    async with unit_of_work(database_url) as session:
        query = text(
            "SELECT id, occurred_at, event, outcome, vendor_key, member_id, username,"
            " staff_email, client_address, details::text AS details FROM audit_event ORDER BY id"
        )
        for seq, event in enumerate((await session.exec(query)).mappings(), start=1):  # type: ignore[call-overload]
            previous = audit_chain.chain(previous, event)
            statements.append(f"UPDATE audit_seal SET hash = '{previous}' WHERE seq = {seq}")
    await tamper(database_url, *statements)
    problem = (await verify(database_url)).problem
    assert problem is not None and problem.kind == "altered" and "rewritten" in str(problem)


async def test_each_verification_is_recorded(database_url: str) -> None:
    ids = await add_events(database_url, 3)
    first = await verify(database_url)
    await tamper(database_url, f"UPDATE audit_event SET outcome = 'failure' WHERE id = {ids[0]}")
    await verify(database_url)
    async with unit_of_work(database_url) as session:
        last = await audit_chain.last_verification(session)
        good = await audit_chain.last_verification(session, ok_only=True)
    assert last is not None and good is not None
    assert (good.ok, good.events, good.head_seq, good.head_hash) == (True, 3, 3, first.head.hash)
    assert (last.ok, last.problem_kind, last.problem_event_id) == (False, "altered", ids[0])
    assert last.problem == f"event {ids[0]} altered: it differs from its seal"
