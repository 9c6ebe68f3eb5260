"""The queries behind the audit views: keyset pages, filters, CSV cells, daily counts."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit
from portal.audit import EventFilter
from portal.audit_models import AuditEvent
from portal.models import id_of

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


async def add_events(session: AsyncSession, n: int) -> list[int]:
    """n events, alternating vendors and outcomes, one hour apart."""
    rows = [
        AuditEvent(
            event="token.issued" if i % 3 else "sign_in",
            outcome="failure" if i % 4 == 0 else "success",
            vendor_key="acme" if i % 2 else "careerhub",
            member_id=7 if i % 5 == 0 else None,
            occurred_at=START + timedelta(hours=i),
            details={"reason": "expired"} if i % 4 == 0 else {},
        )
        for i in range(n)
    ]
    session.add_all(rows)
    await session.flush()
    return [id_of(row) for row in rows]


def flat(pages: list[list[int]]) -> list[int]:
    return [i for page in pages for i in page]


async def walk_older(session: AsyncSession, where: EventFilter, size: int) -> list[list[int]]:
    pages, before = [], None
    while True:
        page = await audit.page(session, where, before=before, size=size)
        pages.append([id_of(e) for e in page.events])
        if page.older is None:
            return pages
        before = page.older


async def test_keyset_pages_cover_everything_once_newest_first(session: AsyncSession) -> None:
    ids = await add_events(session, 23)
    pages = await walk_older(session, EventFilter(), size=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert flat(pages) == sorted(ids, reverse=True)


async def test_newer_pages_walk_back_to_the_start(session: AsyncSession) -> None:
    await add_events(session, 12)
    pages = await walk_older(session, EventFilter(), size=5)
    last = await audit.page(session, EventFilter(), before=pages[1][-1], size=5)
    assert [id_of(e) for e in last.events] == pages[2]
    assert last.newer == pages[2][0]
    back = await audit.page(session, EventFilter(), after=last.newer, size=5)
    assert [id_of(e) for e in back.events] == pages[1]
    assert back.newer == pages[1][0] and back.older == pages[1][-1]
    first = await audit.page(session, EventFilter(), after=back.newer, size=5)
    assert [id_of(e) for e in first.events] == pages[0]
    assert first.newer is None


async def test_a_page_of_the_filtered_view_stays_in_it(session: AsyncSession) -> None:
    await add_events(session, 40)
    where = EventFilter(vendor_key="acme", outcome="success", event="token.issued")
    pages = await walk_older(session, where, size=4)
    events = [await session.get(AuditEvent, i) for i in flat(pages)]
    assert events and all(
        e is not None and (e.vendor_key, e.outcome, e.event) == ("acme", "success", "token.issued")
        for e in events
    )
    expected = [i for i in range(40) if i % 2 and i % 4 and i % 3]
    assert len(events) == len(expected)


@pytest.mark.parametrize(
    ("where", "count"),
    [
        (EventFilter(member_id=7), 8),
        (EventFilter(username="nobody"), 0),
        (EventFilter(outcome="failure"), 10),
        (EventFilter(event="sign_in"), 14),
        (EventFilter(since=START + timedelta(hours=10)), 30),
        (EventFilter(since=START, until=START + timedelta(days=1)), 24),
    ],
)
async def test_filters(session: AsyncSession, where: EventFilter, count: int) -> None:
    await add_events(session, 40)
    assert len(flat(await walk_older(session, where, size=7))) == count


async def test_event_types_are_the_distinct_names(session: AsyncSession) -> None:
    await add_events(session, 10)
    assert await audit.event_types(session) == ["sign_in", "token.issued"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
        ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"), ("\rx", "'\rx"), ("ada", "ada"), (None, ""), (42, "42"),
        ({"b": 1, "a": "é"}, '{"a": "é", "b": 1}'),
        (datetime(2026, 11, 27, 12, 0, tzinfo=UTC), "2026-11-27T12:00:00+00:00"),
    ],
)  # fmt: skip
def test_csv_cells_never_start_a_formula(value: object, cell: str) -> None:
    assert audit.csv_cell(value) == cell


async def test_daily_counts_and_vendor_failures(session: AsyncSession) -> None:
    await add_events(session, 48)
    counts = await audit.daily_counts(session, ["token.issued"], since=START)
    assert sum(counts.values()) == len([i for i in range(48) if i % 3 and i % 4])
    assert {day for _, day in counts} == {date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)}
    assert counts["acme", date(2026, 11, 1)] == len(
        [i for i in range(15) if i % 2 and i % 3 and i % 4]
    )
    failures = await audit.vendor_failures(session, since=START)
    assert {(f.vendor_key, f.event, f.reason) for f in failures} == {
        ("careerhub", "sign_in", "expired"), ("careerhub", "token.issued", "expired")
    }  # fmt: skip
    assert sum(f.count for f in failures) == 12


def test_changes_list_only_what_changed() -> None:
    before = {"name": "A", "paid": date(2030, 1, 1), "same": 1}
    after = {"name": "B", "paid": date(2031, 1, 1), "same": 1}
    assert audit.changes(before, after) == {
        "name": {"before": "A", "after": "B"},
        "paid": {"before": "2030-01-01", "after": "2031-01-01"},
    }
