"""Nobody can grow the audit log without limit: requests nobody authenticated are recorded at
most ANONYMOUS_PER_MINUTE times a minute per client network; made-up keys are never vendors."""

import secrets

import pytest
from quart import Quart
from sqlalchemy import text

from portal.audit import ANONYMOUS_PER_MINUTE
from tests.admin.browser import Browser, add_staff
from tests.conftest import FakeClock
from tests.flows import VendorLogin, unit_of_work

ATTACKER = ("203.0.113.66", 4000)


async def audit_rows(database_url: str) -> list[tuple[str, str | None, str | None]]:
    async with unit_of_work(database_url) as session:
        rows = await session.execute(
            text("SELECT event, vendor_key, client_address FROM audit_event ORDER BY id")
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def spam(app: Quart, path: str, count: int, **query: str) -> None:
    client = app.test_client()
    for _ in range(count):
        params = {"vendor": secrets.token_hex(6), **query}
        await client.get(path, query_string=params, scope_base={"client": ATTACKER})


async def test_made_up_vendor_keys_are_recorded_a_bounded_number_of_times(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    await spam(app, "/sso/signin", 300)
    rows = await audit_rows(database_url)
    assert len(rows) == ANONYMOUS_PER_MINUTE + 1
    assert rows[-1][0] == "audit.suppressed"
    assert {vendor for _, vendor, _ in rows} == {None}  # an unknown key is never a vendor
    clock.advance(minutes=1)
    await spam(app, "/sso/signin", 1)
    assert len(await audit_rows(database_url)) == ANONYMOUS_PER_MINUTE + 2  # a new minute


@pytest.mark.usefixtures("ada")
async def test_other_addresses_keep_their_own_records(app: Quart, database_url: str) -> None:
    await spam(app, "/sso/signin", 100)
    await app.test_client().get("/sso/signin", query_string={"vendor": "nope"})
    assert (await audit_rows(database_url))[-1][2] != ATTACKER[0]


async def test_anonymous_sign_outs_and_passive_checks_are_bounded_too(
    app: Quart, acme: VendorLogin, database_url: str
) -> None:
    await spam(app, "/sso/signout", 100)
    client = app.test_client()
    for _ in range(100):
        passive = {"vendor": "acme", "passive": "1"}
        await client.get("/sso/signin", query_string=passive, scope_base={"client": ATTACKER})
    assert len(await audit_rows(database_url)) == ANONYMOUS_PER_MINUTE + 1


async def test_the_overview_lists_no_made_up_vendor(app: Quart, database_url: str) -> None:
    await spam(app, "/sso/signin", 30)
    await add_staff(database_url, "admin@example.org", "admin")
    admin = Browser(app)
    await admin.sign_in("admin@example.org")
    overview = await (await admin.get("/admin/")).get_data(as_text=True)
    assert "Vendors with errors" in overview
    assert "unknown_vendor" not in overview
