"""Signing in from "My sites" (IdP-initiated, SAML Profiles §4.1.5): a stock SP no one here
wrote — python3-saml, `strict`, configured from the live portal's metadata URL — takes the
unsolicited Response the portal posts when a member opens the vendor from "My sites", with the
vendor's attributes and configured RelayState. Off by default: then refused, and "My sites"
links to the vendor's own start page. Only a POST with the portal's CSRF token signs anyone in
(login CSRF); a disabled vendor is refused."""

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree
from sqlmodel import col, select

from portal.audit_models import AuditEvent
from portal.models import SessionVendor, Vendor
from portal.saml import names
from portal.vendor_rules import FieldChoice
from tests.flows import PASSWORD, Inputs, csrf_of, live_portal, open_sids, unit_of_work
from tests.saml import sp
from tests.saml.saml_flows import (
    add_saml_vendor,
    consumed,
    posted_fields,
    sign_in_through,
    sp_from_metadata_url,
)

pytestmark = pytest.mark.usefixtures("ada")
START = "/saml/start?vendor=lms"
LANDING = "https://sp.example.com/courses/42"
AFFILIATION = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"
FIELDS = (FieldChoice("ImisId"), FieldChoice("Email"), FieldChoice("IsMember"))


@pytest.fixture
def portal_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path) as url:
        yield url


async def signed_in_browser(browser: httpx.AsyncClient) -> None:
    form = await browser.get("/sign-in")
    fields = {"csrf_token": csrf_of(form.text), "username": "ada", "password": PASSWORD}
    signed = await browser.post("/sign-in", data=fields)
    assert signed.status_code == 303, signed.text


def tiles(home: str) -> list[str]:
    """Where each "My sites" tile that is a form posts."""
    return [str(form["action"]) for form in Inputs(home).forms if form["action"] != "/sign-out"]


async def signed_in_events(database_url: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(col(AuditEvent.event) == "saml.signed_in")
    async with unit_of_work(database_url) as session:
        return list(await session.exec(query))


async def test_a_member_opens_the_vendor_from_my_sites_and_the_stock_sp_signs_them_in(
    portal_url: str, database_url: str
) -> None:
    await add_saml_vendor(
        database_url, fields=FIELDS, saml_idp_initiated=True, saml_relay_state=LANDING
    )
    settings = sp_from_metadata_url(f"{portal_url}/saml/metadata")
    assert settings["strict"] is True
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        await signed_in_browser(browser)
        home = (await browser.get("/")).text
        assert tiles(home) == [START]  # a form, not a link another site could follow
        assert f'href="{START}"' not in home
        page = await browser.post(START, data={"csrf_token": csrf_of(home)})
        assert page.status_code == 200, page.text
        assert "form-action https://sp.example.com" in page.headers["Content-Security-Policy"]
        action, fields = posted_fields(page.text)
    assert action == sp.ACS and fields["RelayState"] == LANDING
    response = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    assert response.get("InResponseTo") is None  # unsolicited: it answers no request
    assert b"InResponseTo" not in base64.b64decode(fields["SAMLResponse"])
    # The stock SP in strict mode, expecting no request of its own (request_id None).
    auth = consumed(settings, fields, None)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.get_nameid_format() == names.PERSISTENT
    assert auth.get_session_index() == (await open_sids(database_url))[0]
    assert auth.get_attributes() == {
        "ImisId": ["101"],
        "urn:oid:0.9.2342.19200300.100.1.3": ["ada@example.org"],
        "IsMember": ["true"],
        AFFILIATION: ["member"],  # the same IsMember, as eduPersonAffiliation
    }
    assert auth.get_friendlyname_attributes()["eduPersonAffiliation"] == ["member"]
    [event] = await signed_in_events(database_url)
    assert event.vendor_key == "lms" and event.details["from_my_sites"] is True
    async with unit_of_work(database_url) as session:
        [reached] = (await session.exec(select(SessionVendor))).all()
    assert reached.front_end == "saml"


async def test_a_member_without_a_session_signs_in_then_continues_with_a_click(
    portal_url: str, database_url: str
) -> None:
    await add_saml_vendor(database_url, saml_idp_initiated=True)
    settings = sp_from_metadata_url(f"{portal_url}/saml/metadata")
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        form = await browser.get("/sign-in")  # a stale My sites page: a token, no session
        answer = await browser.post(START, data={"csrf_token": csrf_of(form.text)})
        assert answer.status_code == 303
        assert answer.headers["Location"] == "/sign-in?next=%2Fsaml%2Fstart%3Fvendor%3Dlms"
        sign_in_page = (await browser.get(answer.headers["Location"])).text
        assert "Learning Hub" in sign_in_page  # the page names the site
        # Back after the sign-in: a GET, which only asks; the member's click posts.
        confirm = await sign_in_through(browser, START)
        assert confirm.status_code == 200 and "Continue to Learning Hub?" in confirm.text
        assert await signed_in_events(database_url) == []
        [form_attrs] = [f for f in Inputs(confirm.text).forms if f["action"] == START]
        page = await browser.post(START, data={"csrf_token": csrf_of(confirm.text)})
        action, fields = posted_fields(page.text)
    assert form_attrs["method"] == "post"
    assert action == sp.ACS and "RelayState" not in fields  # none configured
    auth = consumed(settings, fields, None)
    assert auth.get_errors() == [], auth.get_last_error_reason()


async def test_a_post_without_the_portals_csrf_token_signs_nobody_in(
    portal_url: str, database_url: str
) -> None:
    """Login CSRF: another site's page posting to /saml/start in the member's browser."""
    await add_saml_vendor(database_url, saml_idp_initiated=True)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        await signed_in_browser(browser)
        for data in ({}, {"csrf_token": "forged"}):
            answer = await browser.post(START, data=data)
            assert answer.status_code == 403, answer.text
            assert "SAMLResponse" not in answer.text
    assert await signed_in_events(database_url) == []


async def test_switched_off_it_is_refused_and_my_sites_links_to_the_start_page(
    portal_url: str, database_url: str
) -> None:
    await add_saml_vendor(database_url)  # off by default
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        await signed_in_browser(browser)
        home = (await browser.get("/")).text
        assert "Learning Hub" not in home  # no start page, nothing the portal can start
        async with unit_of_work(database_url) as session:
            vendor = (await session.exec(select(Vendor))).one()
            vendor.start_url = "https://sp.example.com/login"
            session.add(vendor)
        home = (await browser.get("/")).text
        assert tiles(home) == [] and 'href="https://sp.example.com/login"' in home
        for answer in (
            await browser.post(START, data={"csrf_token": csrf_of(home)}),
            await browser.get(START),
        ):
            assert answer.status_code == 400
            assert "Learning Hub cannot be opened from the portal" in answer.text
            assert "SAMLResponse" not in answer.text
    assert await signed_in_events(database_url) == []
    async with unit_of_work(database_url) as session:
        query = select(AuditEvent).where(col(AuditEvent.event) == "saml.refused")
        refusals = list(await session.exec(query))
    assert {(e.vendor_key, e.details["reason"]) for e in refusals} == {("lms", "idp_initiated_off")}


async def test_a_disabled_or_unknown_vendor_is_refused(portal_url: str, database_url: str) -> None:
    await add_saml_vendor(database_url, saml_idp_initiated=True)
    async with unit_of_work(database_url) as session:
        vendor = (await session.exec(select(Vendor))).one()
        vendor.enabled = False
        session.add(vendor)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        await signed_in_browser(browser)
        home = (await browser.get("/")).text
        assert tiles(home) == []
        token = csrf_of(home)
        for path in (START, "/saml/start?vendor=nobody", "/saml/start"):
            answer = await browser.post(path, data={"csrf_token": token})
            assert answer.status_code == 400, answer.text
            assert "to open from here" in answer.text
    assert await signed_in_events(database_url) == []
