from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from portal.auth import sessions
from portal.auth.models import AuthSession
from portal.auth.sessions import Policy
from portal.crypto import digest, new_secret
from portal.members import add_member, parse_member
from portal.models import id_of
from tests.conftest import FakeClock

POLICY = Policy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


async def test_only_live_sessions_count_and_pages_follow_each_other(
    session: AsyncSession, clock: FakeClock
) -> None:
    now = clock.current
    member = await add_member(session, parse_member({"imis_id": "1", "username": "ada"}))
    for minutes_idle, ended in [(0, False), (5, False), (31, False), (0, True), (1, False)]:
        row = AuthSession(
            id_hash=digest(new_secret()),
            member_id=id_of(member),
            created_at=now,
            last_seen_at=now - timedelta(minutes=minutes_idle),
            expires_at=now + timedelta(hours=1),
            ended_at=now if ended else None,
        )
        session.add(row)
    await session.flush()
    assert await sessions.count_member_sessions(session, now=now, policy=POLICY) == 3
    first = await sessions.member_sessions(session, now=now, policy=POLICY, size=2)
    assert first.older is not None
    rest = await sessions.member_sessions(
        session, now=now, policy=POLICY, size=2, before=first.older
    )
    assert rest.older is None
    ids = [s.session.id for s in first.sessions + rest.sessions]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
    ended = await sessions.end_all(session, "member", id_of(member), now=now, reason="revoked")
    assert ended == 4  # every session not yet marked ended, timed out or not
    assert await sessions.count_member_sessions(session, now=now, policy=POLICY) == 0
