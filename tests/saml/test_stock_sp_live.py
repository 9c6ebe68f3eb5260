"""A stock SAML SP no one here wrote — python3-saml (OneLogin) — configured from the live portal's
metadata URL alone, signs a member in by SP-initiated SSO (HTTP-Redirect, signed) and receives
the vendor's selected attributes; signs in again silently, with ForceAuthn, and with IsPassive
when nobody is signed in (NoPassive); and signs the member out of the portal (SP-initiated single
logout). The portal served as `portal serve` serves it."""

import base64
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from sqlmodel import select

from portal.audit_models import AuditEvent
from portal.models import SessionVendor
from portal.saml import names
from portal.vendor_rules import FieldChoice
from tests.flows import live_portal, open_sids, unit_of_work
from tests.saml import sp
from tests.saml.saml_flows import (
    ACS_REQUEST,
    add_saml_vendor,
    consumed,
    posted_fields,
    sign_in_through,
    sp_from_metadata_url,
    sp_own_settings,
    status_of,
)

pytestmark = pytest.mark.usefixtures("ada")
MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
GIVEN_NAME = "urn:oid:2.5.4.42"
FIELDS = (
    FieldChoice("ImisId"),
    FieldChoice("FirstName"),
    FieldChoice("Email"),
    FieldChoice("MemberType", "type"),
    FieldChoice("IsMember"),
)
WANTED = {
    "ImisId": ["101"],
    GIVEN_NAME: ["Ada"],
    MAIL: ["ada@example.org"],
    "type": ["REG"],
    "IsMember": ["true"],
    # With IsMember, eduPersonAffiliation: the same rule of good standing, in eduPerson's words.
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ["member"],
}


@pytest.fixture
def portal_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path) as url:
        yield url


async def test_the_stock_sp_signs_a_member_in_with_the_vendors_attributes(
    portal_url: str, database_url: str
) -> None:
    await add_saml_vendor(database_url, fields=FIELDS)
    settings = sp_from_metadata_url(f"{portal_url}/saml/metadata")
    assert settings["idp"]["entityId"] == f"{portal_url}/saml/metadata"
    assert settings["idp"]["singleSignOnService"]["url"] == f"{portal_url}/saml/sso"

    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        url = sp_auth.login(return_to="https://sp.example.com/courses/42")
        page = await sign_in_through(browser, url)
        assert page.status_code == 200, page.text
        assert "form-action https://sp.example.com" in page.headers["Content-Security-Policy"]
        assert "<script>" not in page.text  # the CSP allows no inline script
        action, fields = posted_fields(page.text)
        assert action == sp.ACS
        assert fields["RelayState"] == "https://sp.example.com/courses/42"
        auth = consumed(settings, fields, sp_auth.get_last_request_id())
        assert auth.get_errors() == [], auth.get_last_error_reason()
        assert auth.get_attributes() == WANTED
        assert auth.get_nameid_format() == names.PERSISTENT
        first_nameid = auth.get_nameid()
        assert first_nameid not in ("101", "ada@example.org")  # pairwise, opaque
        assert auth.get_session_index() == (await open_sids(database_url))[0]

        # Signed in already: no page, the answer at once, the same NameID.
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        again = await browser.get(sp_auth.login())
        assert again.status_code == 200, again.text
        auth = consumed(settings, posted_fields(again.text)[1], sp_auth.get_last_request_id())
        assert auth.get_errors() == [], auth.get_last_error_reason()
        assert auth.get_nameid() == first_nameid

        # ForceAuthn: the sign-in page again, though signed in; then the answer.
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        forced = await browser.get(sp_auth.login(force_authn=True))
        assert forced.status_code == 303 and forced.headers["Location"].startswith("/sign-in?")
        page = await sign_in_through(browser, sp_auth.login(force_authn=True))
        auth = consumed(settings, posted_fields(page.text)[1], sp_auth.get_last_request_id())
        assert auth.get_errors() == [], auth.get_last_error_reason()

    async with unit_of_work(database_url) as session:
        reached = (await session.exec(select(SessionVendor))).all()
        events = (await session.exec(select(AuditEvent.event))).all()
    assert {row.front_end for row in reached} == {"saml"}
    assert events.count("saml.signed_in") == 3


async def test_is_passive_with_nobody_signed_in_is_answered_no_passive(
    portal_url: str, database_url: str
) -> None:
    await add_saml_vendor(database_url)
    settings = sp_from_metadata_url(f"{portal_url}/saml/metadata")

    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        page = await browser.get(sp_auth.login(is_passive=True, return_to="/back"))
        assert page.status_code == 200, page.text
        action, fields = posted_fields(page.text)
    assert action == sp.ACS and fields["RelayState"] == "/back"
    assert status_of(fields) == [names.RESPONDER, names.NO_PASSIVE]
    auth = consumed(settings, fields, sp_auth.get_last_request_id())
    assert not auth.is_authenticated()
    assert "NoPassive" in (auth.get_last_error_reason() or "")


async def test_the_stock_sp_signs_the_member_out_of_the_portal(
    portal_url: str, database_url: str
) -> None:
    """SP-initiated single logout: the SP's signed LogoutRequest ends the portal session it
    names, and its LogoutResponse, signed, passes the SP's checks."""
    await add_saml_vendor(database_url)
    settings = sp_from_metadata_url(f"{portal_url}/saml/metadata")
    settings["security"]["logoutRequestSigned"] = True
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        page = await sign_in_through(browser, sp_auth.login())
        auth = consumed(settings, posted_fields(page.text)[1], sp_auth.get_last_request_id())
        assert auth.get_errors() == [], auth.get_last_error_reason()

        # Another member's NameID: nothing ends, though the SP is told it is done.
        other = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        url = other.logout(
            name_id="someone-else",
            session_index=auth.get_session_index(),
            name_id_format=names.PERSISTENT,
            return_to="/after",
        )
        answer = await browser.get(url)
        assert answer.status_code == 303 and answer.headers["Location"].startswith(sp.SLO + "?")
        assert await open_sids(database_url) == [auth.get_session_index()]

        logout = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        url = logout.logout(
            name_id=auth.get_nameid(),
            session_index=auth.get_session_index(),
            name_id_format=auth.get_nameid_format(),
            return_to="/after",
        )
        answer = await browser.get(url)
        assert answer.status_code == 303, answer.text
        location = answer.headers["Location"]
        assert location.startswith(sp.SLO + "?")
    assert await open_sids(database_url) == []
    query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    assert query["RelayState"] == "/after"
    settings["security"]["wantMessagesSigned"] = True
    at_slo = ACS_REQUEST | {"script_name": "/saml/slo", "get_data": query}
    answered = OneLogin_Saml2_Auth(at_slo, settings)
    answered.process_slo(keep_local_session=True, request_id=logout.get_last_request_id())
    assert answered.get_errors() == [], answered.get_last_error_reason()
    async with unit_of_work(database_url) as session:
        events = (await session.exec(select(AuditEvent))).all()
    sign_outs = [e.details for e in events if e.event == "sign_out"]
    assert sign_outs == [{"via": "saml", "had_session": True}]


async def test_an_encrypted_signed_answer_with_the_email_as_nameid(
    portal_url: str, database_url: str
) -> None:
    """The vendor's choices, made through its settings: the assertion encrypted to the SP's
    certificate, the Response signed too, the member's email as NameID."""
    # The SP publishes an encryption certificate when it wants encrypted assertions.
    own = OneLogin_Saml2_Settings(
        sp_own_settings(wantAssertionsEncrypted=True), sp_validation_only=True
    )
    await add_saml_vendor(
        database_url,
        metadata=own.get_sp_metadata(),
        saml_encrypt_assertions=True,
        saml_sign_response=True,
        saml_nameid_format="email",
    )
    settings = sp_from_metadata_url(
        f"{portal_url}/saml/metadata", wantAssertionsEncrypted=True, wantMessagesSigned=True
    )
    settings["sp"]["NameIDFormat"] = names.EMAIL
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        page = await sign_in_through(browser, sp_auth.login())
        fields = posted_fields(page.text)[1]
    assert b"ada@example.org" not in base64.b64decode(fields["SAMLResponse"])
    auth = consumed(settings, fields, sp_auth.get_last_request_id())
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert (auth.get_nameid(), auth.get_nameid_format()) == ("ada@example.org", names.EMAIL)
    assert auth.get_attributes()[MAIL] == ["ada@example.org"]


async def test_a_replayed_logout_request_ends_nothing(portal_url: str, database_url: str) -> None:
    """The stock SP's signed LogoutRequest, sent again (a copy kept from the browser's history
    or a log, within the minutes its IssueInstant allows) once the member has signed in again in
    that browser: it names the session that has ended, so the new one lives on."""
    await add_saml_vendor(database_url)
    settings = sp_from_metadata_url(f"{portal_url}/saml/metadata")
    settings["security"]["logoutRequestSigned"] = True
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        sp_auth = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        page = await sign_in_through(browser, sp_auth.login())
        auth = consumed(settings, posted_fields(page.text)[1], sp_auth.get_last_request_id())
        first = auth.get_session_index()
        url = OneLogin_Saml2_Auth(ACS_REQUEST, settings).logout(
            name_id=auth.get_nameid(),
            session_index=first,
            name_id_format=auth.get_nameid_format(),
        )
        assert (await browser.get(url)).status_code == 303
        assert await open_sids(database_url) == []

        again = OneLogin_Saml2_Auth(ACS_REQUEST, settings)
        page = await sign_in_through(browser, again.login())
        second = consumed(settings, posted_fields(page.text)[1], again.get_last_request_id())
        assert second.get_session_index() != first
        replayed = await browser.get(url)
        assert replayed.status_code == 303  # answered at the SP's SLO, as any request naming
        assert replayed.headers["Location"].startswith(sp.SLO + "?")  # another session is
    assert await open_sids(database_url) == [second.get_session_index()]
