"""A SAML vendor's access rule (portal/access_rules.py), decided in the statement that records the
sign-in (portal/saml/sign_ins.py): a member it refuses gets no assertion and no saml.signed_in
event but the refusal page — the site's name, why, the renewal link — whose way back posts the
vendor a RequestDenied Response; a passive request gets that Response at once, which a stock SP
(python3-saml, against `portal serve`) reads as RequestDenied; from My sites, the page links back
to the vendor's start page. A rule changed, or a membership lapsed, counts from the next request,
though the member's portal session lives on."""

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlmodel import col, select

from portal import access_rules
from portal.access_rules import Rule
from portal.audit_models import AuditEvent
from portal.models import Member, SessionVendor, Vendor
from portal.saml import names
from portal.settings import Settings
from tests.conftest import FakeClock, running_app
from tests.flows import (
    Inputs,
    csrf_of,
    live_portal,
    open_sids,
    sign_in,
    unit_of_work,
)
from tests.saml import sp
from tests.saml.saml_flows import (
    ACS_REQUEST,
    add_saml_vendor,
    consumed,
    posted_fields,
    sign_in_through,
    sp_from_metadata_url,
    status_of,
)

pytestmark = pytest.mark.usefixtures("ada")
ISSUER = "https://sso.example.org"
RENEW = "https://members.example.org/renew"
START_URL = "https://sp.example.com/start"
GOOD_STANDING = Rule(good_standing=True)
STUDENTS = Rule(member_types=("STU",))
LAPSED_ON = date(2026, 1, 31)  # before the test clock's today (27 November 2026)


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Quart]:
    async with running_app(settings, clock, issuer=ISSUER, renewal_url=RENEW) as app:
        yield app


@pytest.fixture
async def lms(database_url: str) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata())


async def set_rule(database_url: str, rule: Rule, key: str = "lms") -> None:
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(Vendor.key == key))).one()
        access_rules.apply(vendor, rule)
        session.add(vendor)


async def set_paid_through(database_url: str, paid_through: date) -> None:
    async with unit_of_work(database_url) as session:
        member = (await session.exec(select(Member).where(Member.username == "ada"))).one()
        member.paid_through = paid_through
        session.add(member)


async def events(database_url: str, name: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(col(AuditEvent.event) == name).order_by(col(AuditEvent.id))
    async with unit_of_work(database_url) as session:
        return list(await session.exec(query))


async def reached(database_url: str) -> list[SessionVendor]:
    async with unit_of_work(database_url) as session:
        return list(await session.exec(select(SessionVendor)))


async def signed_in_client(app: Quart) -> Client:
    client = app.test_client()
    assert (await sign_in(client)).status_code == 303
    return client


async def sso(client: Client, clock: FakeClock, **options: Any) -> tuple[int, str, Any]:
    """The stock-shaped signed AuthnRequest of tests/saml/sp.py at /saml/sso."""
    query = sp.redirect_query(sp.authn_request(clock.current, **options))
    answer = await client.get(f"/saml/sso?{query}")
    return answer.status_code, await answer.get_data(as_text=True), answer.headers


@pytest.mark.usefixtures("lms")
async def test_a_member_the_rule_refuses_sees_the_page_and_the_vendor_gets_nothing(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    await set_rule(database_url, GOOD_STANDING)
    await set_paid_through(database_url, LAPSED_ON)
    client = await signed_in_client(app)
    status, html, headers = await sso(client, clock)
    assert status == 403, html
    assert "You cannot use Learning Hub with your membership" in html
    why = "Learning Hub is for members whose membership is current; yours lapsed on 31 January"
    assert why in html
    assert f'href="{RENEW}"' in html
    # Back to the site: a form (not posted by itself) carrying a Response that denies the request,
    # to the registered ACS the request was for, which the CSP lets it post to.
    page = Inputs(html)
    [back] = [form for form in page.forms if form["action"] == sp.ACS_2]
    assert back["method"] == "post" and "autopost" not in html  # the member's click only
    assert "Back to Learning Hub" in html
    assert status_of(page.hidden) == [names.RESPONDER, names.REQUEST_DENIED]
    assert "form-action 'self' https://sp.example.com" in headers["Content-Security-Policy"]
    assert await events(database_url, "saml.signed_in") == []
    assert await reached(database_url) == []
    [refused] = await events(database_url, "access.refused")
    assert refused.vendor_key == "lms" and refused.outcome == "failure"
    assert refused.details["reason"] == "not_in_good_standing"
    assert refused.details["front_end"] == "saml" and refused.details["passive"] is False
    assert refused.details["rule"] == "Members in good standing"


@pytest.mark.usefixtures("lms")
async def test_a_rule_change_counts_from_the_next_request(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    client = await signed_in_client(app)
    assert (await sso(client, clock))[0] == 200  # everyone who signs in, the default
    await set_rule(database_url, STUDENTS)
    status, html, _ = await sso(client, clock)
    assert status == 403, html
    assert "Learning Hub is for STU members; yours is REG." in html
    assert RENEW not in html  # renewing would not help: the rule is about the member type
    await set_rule(database_url, Rule(member_types=("STU", "REG")))
    status, html, _ = await sso(client, clock)
    assert status == 200, html
    assert status_of(Inputs(html).hidden) == [names.SUCCESS]
    assert len(await events(database_url, "saml.signed_in")) == 2
    assert [e.details["reason"] for e in await events(database_url, "access.refused")] == [
        "member_type"
    ]


@pytest.mark.usefixtures("lms")
async def test_a_member_who_lapses_is_refused_at_the_next_sign_in_though_their_session_lives(
    app: Quart, clock: FakeClock, database_url: str
) -> None:
    await set_rule(database_url, GOOD_STANDING)
    client = await signed_in_client(app)
    assert (await sso(client, clock))[0] == 200
    await set_paid_through(database_url, LAPSED_ON)
    status, html, _ = await sso(client, clock)
    assert status == 403, html
    assert "yours lapsed on 31 January 2026" in html
    assert len(await open_sids(database_url)) == 1  # still signed in to the portal
    assert len(await events(database_url, "saml.signed_in")) == 1


async def test_a_member_the_rule_refuses_from_my_sites_sees_the_page_with_a_link_back(
    app: Quart, database_url: str
) -> None:
    await add_saml_vendor(database_url, metadata=sp.metadata(), saml_idp_initiated=True)
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor).where(Vendor.key == "lms"))).one()
        vendor.start_url = START_URL
        session.add(vendor)
    await set_rule(database_url, STUDENTS)
    client = await signed_in_client(app)
    home = await (await client.get("/")).get_data(as_text=True)
    answer = await client.post("/saml/start?vendor=lms", form={"csrf_token": csrf_of(home)})
    html = await answer.get_data(as_text=True)
    assert answer.status_code == 403, html
    assert "Learning Hub is for STU members; yours is REG." in html
    assert f'href="{START_URL}"' in html  # back to the vendor's own start: no request to answer
    assert "SAMLResponse" not in html
    assert await events(database_url, "saml.signed_in") == []
    [refused] = await events(database_url, "access.refused")
    assert refused.details["passive"] is False and refused.details["front_end"] == "saml"


@pytest.fixture
def portal_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path, PORTAL_RENEWAL_URL=RENEW) as url:
        yield url


async def test_the_stock_sp_is_denied_passively_and_through_the_pages_way_back(
    portal_url: str, database_url: str
) -> None:
    """IsPassive: RequestDenied posted to the ACS at once, never a page; otherwise the page,
    whose "Back to Learning Hub" form gives the stock SP the same answer."""
    await add_saml_vendor(database_url)
    settings = sp_from_metadata_url(f"{portal_url}/saml/metadata")
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        page = await sign_in_through(browser, sp_auth.login(return_to="/courses/42"))
        auth = consumed(settings, posted_fields(page.text)[1], sp_auth.get_last_request_id())
        assert auth.get_errors() == [], auth.get_last_error_reason()  # let in: everyone

        await set_rule(database_url, STUDENTS)
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        passive = await browser.get(sp_auth.login(is_passive=True, return_to="/quiet"))
        assert passive.status_code == 200, passive.text
        action, fields = posted_fields(passive.text)
        assert action == sp.ACS and fields["RelayState"] == "/quiet"
        assert status_of(fields) == [names.RESPONDER, names.REQUEST_DENIED]
        denied = consumed(settings, fields, sp_auth.get_last_request_id())
        assert not denied.is_authenticated()
        assert "RequestDenied" in (denied.get_last_error_reason() or "")

        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        refused = await browser.get(sp_auth.login(return_to="/courses/7"))
        assert refused.status_code == 403, refused.text
        assert "Learning Hub is for STU members" in refused.text
        back = Inputs(refused.text)
        assert [f["action"] for f in back.forms if f["action"] == sp.ACS] == [sp.ACS]
        assert back.hidden["RelayState"] == "/courses/7"
        posted_back = {k: back.hidden[k] for k in ("SAMLResponse", "RelayState")}
        denied = consumed(settings, posted_back, sp_auth.get_last_request_id())
        assert not denied.is_authenticated()
        assert "RequestDenied" in (denied.get_last_error_reason() or "")

    assert len(await events(database_url, "saml.signed_in")) == 1
    assert [e.details["passive"] for e in await events(database_url, "access.refused")] == [
        True,
        False,
    ]
