"""Single logout in the dashboard (issue 16): the sign-out notification address in a vendor's
settings, its recent notices on its page, and failed notices under the overview's errors, in
plain words."""

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from portal import audit, audit_details
from portal.audit_models import AuditEvent
from portal.auth import sessions
from portal.auth.models import AuthSession
from portal.models import Vendor
from portal.outbox.models import OutboxItem
from portal.settings import Settings
from tests.admin.browser import Browser, add_staff, text
from tests.conftest import FakeClock, running_app
from tests.flows import add_member, add_vendor, issue_token, unit_of_work
from tests.oidc.oidc_flows import add_oidc_vendor

FORM = {"name": "Acme Learning", "token_url": "https://acme-learning.com/sso/token"}
BACKCHANNEL = "https://acme-learning.com/sso/logout"


async def test_staff_set_the_sign_out_notification_address_on_the_vendors_domains(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)
    page = await text(await admin.get("/admin/vendors/acme"))
    assert "Sign-out notification address" in page and "Sign-out page address" in page
    assert "has no sign-out notification address" in page

    refused = await admin.post(
        "/admin/vendors/acme", {**FORM, "backchannel_logout_url": "https://evil.com/logout"}
    )
    assert refused.status_code == 422
    body = await text(refused)
    assert 'id="field-backchannel_logout_url-error"' in body
    assert "The sign-out notification address must be on one of this vendor" in body

    saved = await admin.post("/admin/vendors/acme", {**FORM, "backchannel_logout_url": BACKCHANNEL})
    assert saved.status_code == 303
    async with unit_of_work(database_url) as s:
        assert (await s.exec(select(Vendor.backchannel_logout_url))).one() == BACKCHANNEL
    async with unit_of_work(database_url) as s:
        event = (await s.exec(select(AuditEvent).where(AuditEvent.event == "vendor.updated"))).one()
    assert event.details["changes"]["backchannel_logout_url"] == {
        "before": None,
        "after": BACKCHANNEL,
    }
    assert audit_details.field_label("backchannel_logout_url") == "Sign-out notification address"


async def test_a_domain_with_the_notification_address_on_it_stays(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url, backchannel_logout_url=BACKCHANNEL)
    await admin.post("/admin/vendors/acme/domains", {"domain": "acme.academy"})
    await admin.post(
        "/admin/vendors/acme", {**FORM, "signout_url": "", "backchannel_logout_url": BACKCHANNEL}
    )
    response = await admin.post("/admin/vendors/acme/domains/acme-learning.com/remove")
    assert "the sign-out notification address is on this domain" in await text(response)


async def failed_notice(database_url: str, clock: FakeClock) -> None:
    await add_member(database_url)
    await add_vendor(database_url, backchannel_logout_url=BACKCHANNEL)
    await issue_token(database_url)
    async with unit_of_work(database_url) as s:
        row = (await s.exec(select(AuthSession).where(AuthSession.member_id != None))).one()  # noqa: E711
        await sessions.end(s, row, now=clock(), reason="sign_out")
        delivery = (await s.exec(select(OutboxItem))).one()
        delivery.attempts, delivery.last_status = 1, 404
        delivery.failed_at, delivery.last_error = clock(), "the vendor answered 404"
        s.add(delivery)
    async with unit_of_work(database_url) as s:
        await audit.record(
            s, "logout.notified", "failure", vendor_key="acme", status=404, reason="refused"
        )


async def test_the_vendor_page_lists_recent_notices_and_failures(
    admin: Browser, database_url: str, clock: FakeClock
) -> None:
    await failed_notice(database_url, clock)
    page = await text(await admin.get("/admin/vendors/acme"))
    assert 'data-testid="sign-out-notices"' in page
    assert "the vendor answered 404" in page and "1 failed" in page


async def test_a_failed_notice_is_an_error_on_the_overview_in_plain_words(
    admin: Browser, database_url: str, clock: FakeClock
) -> None:
    await failed_notice(database_url, clock)
    clock.advance(minutes=1)
    page = await text(await admin.get("/admin/"))
    assert "Acme Learning could not be told that a member signed out" in page
    assert "may still be signed in at this vendor" in page
    assert "sign-out notification address answered with an error" in page


async def test_an_oidc_vendor_records_that_it_requires_sid(
    admin: Browser, database_url: str
) -> None:
    await add_oidc_vendor(database_url)
    page = await text(await admin.get("/admin/vendors/learn"))
    assert "The vendor needs to know which portal session ended" in page
    form = {
        "name": "Learn Academy",
        "token_url": "https://learn.example.org/sso/token",  # the OIDC form is oidcui's
        "backchannel_logout_url": "https://learn.example.org/logout",
        "backchannel_logout_session_required": "1",
    }
    saved = await admin.post("/admin/vendors/learn", form)
    assert saved.status_code == 303, await text(saved)
    async with unit_of_work(database_url) as s:
        vendor = (await s.exec(select(Vendor))).one()
    assert (vendor.backchannel_logout_url, vendor.backchannel_logout_session_required) == (
        "https://learn.example.org/logout",
        True,
    )


@pytest.fixture
async def sending_admin(
    settings: Settings, clock: FakeClock, database_url: str
) -> AsyncIterator[Browser]:
    """An admin of a portal with an issuer, which sends sign-out notices (the test app has
    none, as development without PORTAL_ISSUER or PORTAL_PUBLIC_URL)."""
    async with running_app(settings, clock, issuer="https://sso.example.org") as app:
        await add_staff(database_url, "sender@example.org", "admin")
        browser = Browser(app)
        assert (await browser.sign_in("sender@example.org")).status_code == 303
        yield browser


async def waiting_notice(database_url: str, clock: FakeClock) -> None:
    """A member's session that reached the vendor ended: its notice is queued."""
    await add_member(database_url)
    url = "https://acme.example/sso/logout"  # a name that never resolves: nothing is sent
    await add_vendor(database_url, domain="acme.example", backchannel_logout_url=url)
    await issue_token(database_url)
    async with unit_of_work(database_url) as s:
        row = (await s.exec(select(AuthSession).where(AuthSession.member_id != None))).one()  # noqa: E711
        await sessions.end(s, row, now=clock(), reason="sign_out")


async def test_without_an_issuer_staff_are_told_that_no_sign_out_notice_is_sent(
    admin: Browser, database_url: str, clock: FakeClock
) -> None:
    await waiting_notice(database_url, clock)
    overview = await text(await admin.get("/admin/"))
    assert 'id="sign-out-notices-off"' in overview
    assert "Vendors are not told when members sign out." in overview
    assert "set PORTAL_PUBLIC_URL (or PORTAL_ISSUER)" in overview
    vendor = await text(await admin.get("/admin/vendors/acme"))
    assert "The portal is not sending sign-out notices at the moment" in vendor
    assert ">Waiting</span>" in vendor and ">Sending</span>" not in vendor


async def test_with_an_issuer_the_overview_says_nothing_of_it(
    sending_admin: Browser, database_url: str, clock: FakeClock
) -> None:
    await waiting_notice(database_url, clock)
    overview = await text(await sending_admin.get("/admin/"))
    assert "sign-out-notices-off" not in overview and "are not told" not in overview
    vendor = await text(await sending_admin.get("/admin/vendors/acme"))
    assert "not sending sign-out notices" not in vendor
    assert ">Sending</span>" in vendor and ">Waiting</span>" not in vendor


NOT_TOLD = "members who sign out elsewhere stay signed in here"


async def test_the_add_form_asks_for_the_sign_out_notification_address(
    admin: Browser, database_url: str
) -> None:
    """Issue 26, item 1: a vendor is told of sign-outs from its first day, if staff give the
    address when they add it; the form says what it is for in plain words."""
    form = await text(await admin.get("/admin/vendors/new"))
    assert "Sign-out notification address" in form and "signed out there too" in form
    new = {"key": "acme", "name": "Acme Learning", "domain": "acme-learning.com",
           "token_url": "https://acme-learning.com/sso/token", "signout_url": ""}  # fmt: skip
    refused = await admin.post(
        "/admin/vendors", {**new, "backchannel_logout_url": "https://evil.com/logout"}
    )
    assert refused.status_code == 422
    assert "The sign-out notification address must be on one of this vendor" in await text(refused)
    added = await admin.post("/admin/vendors", {**new, "backchannel_logout_url": BACKCHANNEL})
    assert added.status_code == 303
    async with unit_of_work(database_url) as s:
        vendor = (await s.exec(select(Vendor))).one()
    assert vendor.backchannel_logout_url == BACKCHANNEL
    [event] = [e for e in await events(database_url) if e.event == "vendor.created"]
    assert event.details["changes"]["backchannel_logout_url"]["after"] == BACKCHANNEL


async def test_vendors_no_sign_out_reaches_are_flagged_on_the_list_and_the_overview(
    admin: Browser, database_url: str
) -> None:
    await add_vendor(database_url)  # no sign-out notification address
    told = {"domain": "careerhub.io", "backchannel_logout_url": "https://careerhub.io/bye"}
    await add_vendor(database_url, key="careerhub", name="CareerHub Jobs", **told)
    listed = await text(await admin.get("/admin/vendors"))
    acme, careerhub = listed.split("Acme Learning</a>")[1], listed.split("CareerHub Jobs</a>")[1]
    assert NOT_TOLD in acme.split("</tr>")[0]
    assert NOT_TOLD not in careerhub.split("</tr>")[0]
    overview = await text(await admin.get("/admin/"))
    assert f"Acme Learning has no sign-out notification address: {NOT_TOLD}" in overview
    assert "CareerHub Jobs has no" not in overview


async def events(database_url: str) -> list[AuditEvent]:
    async with unit_of_work(database_url) as s:
        return list(await s.exec(select(AuditEvent)))
