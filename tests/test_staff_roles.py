import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, staff
from portal.errors import Conflict, InvalidField
from tests.conftest import FakeClock

CLI = audit.Actor(via="cli")


async def test_the_last_enabled_admin_cannot_be_demoted_or_disabled(
    session: AsyncSession, clock: FakeClock
) -> None:
    now = clock.current
    one = await staff.add_staff(session, "one@example.org", "admin", "long enough")
    two = await staff.add_staff(session, "two@example.org", "admin", "long enough")
    assert await staff.change_role(session, two, "viewer", now=now) == "admin"
    with pytest.raises(Conflict, match="last enabled admin"):
        await staff.change_role(session, one, "viewer", now=now)
    with pytest.raises(Conflict, match="last enabled admin"):
        await staff.disable(session, one, now=now, by=CLI)
    await staff.change_role(session, two, "admin", now=now)
    await staff.disable(session, two, now=now, by=CLI)
    with pytest.raises(Conflict):  # a disabled admin does not count
        await staff.disable(session, one, now=now, by=CLI)
    await staff.enable(session, one, now=now, by=CLI)  # enabling is always fine


async def test_roles_and_emails_are_checked_by_field(session: AsyncSession) -> None:
    with pytest.raises(InvalidField) as role:
        await staff.add_staff(session, "sam@example.org", "owner", "long enough")
    with pytest.raises(InvalidField) as email:
        await staff.add_staff(session, "sam@", "viewer", "long enough")
    with pytest.raises(InvalidField) as password:
        await staff.add_staff(session, "sam@example.org", "viewer", "short")
    assert (role.value.field, email.value.field, password.value.field) == (
        "role",
        "email",
        "password",
    )
