"""A stock SP no one here wrote — python3-saml (OneLogin's `onelogin.saml2`) — set up from the
portal's IdP metadata alone: the AuthnRequests it builds pass the portal's checks, and the
Responses the portal builds pass its validation (strict mode: schema, signature, Destination,
Recipient, Audience, InResponseTo, windows), signed, signed twice, and encrypted."""

import base64
import copy
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from sqlmodel.ext.asyncio.session import AsyncSession

from portal.saml import bindings, certificates, metadata, names, requests, responses
from portal.saml.certificates import Signer
from portal.saml.encryption import Cipher
from portal.saml.requests import Received
from portal.saml.responses import Attribute, Protection, SignIn
from portal.saml.sp_metadata import parse_metadata
from portal.settings import Settings
from tests.saml import sp
from tests.saml.saml_flows import sp_own_settings
from tests.saml.test_metadata import in_unit

ORIGIN = "https://sso.example.org"
MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
GIVEN_NAME = "urn:oid:2.5.4.42"
REQUEST_DATA = {
    "https": "on",
    "http_host": "sp.example.com",
    "script_name": "/saml/acs",
    "get_data": {},
    "post_data": {},
}


def pem_body(data: bytes) -> str:
    return "".join(line for line in data.decode().splitlines() if "-----" not in line)


def sp_settings(idp_metadata: bytes, **security: Any) -> dict[str, Any]:
    """The OneLogin SP's settings: its own (signing its logout requests too), and what it reads
    from the portal's metadata."""
    own = sp_own_settings(logoutRequestSigned=True)
    idp = OneLogin_Saml2_IdPMetadataParser.parse(idp_metadata.decode())
    merged = OneLogin_Saml2_IdPMetadataParser.merge_settings(copy.deepcopy(own), idp)
    merged["security"].update(own["security"] | security)
    return merged


def portal_metadata(*signers: Signer) -> bytes:
    return metadata.idp_metadata(
        entity_id=sp.IDP_ENTITY_ID,
        origin=ORIGIN,
        certificates=[s.certificate for s in signers],
        now=datetime.now(UTC),
    )


def test_the_stock_sps_metadata_is_registered() -> None:
    settings = OneLogin_Saml2_Settings(sp_settings(portal_metadata(sp.signer("idp"))))
    found = parse_metadata(settings.get_sp_metadata(), now=datetime.now(UTC), development=False)
    assert found.entity_id == sp.ENTITY_ID
    assert [c.location for c in found.assertion_consumers] == [sp.ACS]
    assert found.signing_certificates == (sp.signer("sp").certificate,)
    assert found.authn_requests_signed and found.want_assertions_signed


@pytest.mark.parametrize(
    ("options", "force", "passive"),
    [({}, False, False), ({"force_authn": True, "is_passive": True}, True, True)],
)
def test_the_stock_sps_signed_authn_request_is_accepted(
    options: dict[str, bool], force: bool, passive: bool
) -> None:
    auth = OneLogin_Saml2_Auth(REQUEST_DATA, sp_settings(portal_metadata(sp.signer("idp"))))
    url = auth.login(return_to="https://sp.example.com/courses/42", **options)
    assert url.startswith(ORIGIN + metadata.SSO_PATH + "?")
    query = urlsplit(url).query
    received = Received(names.REDIRECT, parse_qs(query)["SAMLRequest"][0], query)
    found = requests.authn_request(
        requests.read(received),
        received,
        sp.registered(),
        destination=ORIGIN + metadata.SSO_PATH,
        now=datetime.now(UTC),
        signature_required=True,
    )
    assert found.id == auth.get_last_request_id()
    assert found.signed and found.consumer.location == sp.ACS
    assert (found.force_authn, found.is_passive) == (force, passive)
    assert (
        bindings.relay_state(parse_qs(query)["RelayState"][0])
        == "https://sp.example.com/courses/42"
    )


def sign_in(request_id: str | None) -> SignIn:
    return SignIn(
        idp_entity_id=sp.IDP_ENTITY_ID,
        sp_entity_id=sp.ENTITY_ID,
        acs_url=sp.ACS,
        in_response_to=request_id,
        name_id="k3Yp2a9-pairwise",
        nameid_format=names.PERSISTENT,
        session_index="sid-4711",
        authn_instant=datetime.now(UTC),
        attributes=(
            Attribute(MAIL, ("ada@example.org",), friendly_name="mail"),
            Attribute(GIVEN_NAME, ("Ada",), friendly_name="givenName"),
            Attribute("MemberType", ("REG", "FEL"), name_format=names.ATTRNAME_BASIC),
        ),
    )


def consumed(xml: bytes, settings: dict[str, Any], request_id: str | None) -> OneLogin_Saml2_Auth:
    data = REQUEST_DATA | {"post_data": {"SAMLResponse": base64.b64encode(xml).decode()}}
    auth = OneLogin_Saml2_Auth(data, settings)
    auth.process_response(request_id=request_id)
    return auth


PROTECTIONS = {
    "assertion signed": ({}, Protection()),
    "response signed too": ({"wantMessagesSigned": True}, Protection(sign_response=True)),
    "encrypted, AES-GCM": (
        {"wantAssertionsEncrypted": True},
        Protection(encrypt_to=sp.signer("sp").certificate),
    ),
    "encrypted, AES-CBC, response signed": (
        {"wantAssertionsEncrypted": True, "wantMessagesSigned": True},
        Protection(True, sp.signer("sp").certificate, Cipher.AES128_CBC),
    ),
}


@pytest.mark.parametrize("case", PROTECTIONS)
def test_the_stock_sp_accepts_the_portals_response(case: str) -> None:
    security, protection = PROTECTIONS[case]
    settings = sp_settings(portal_metadata(sp.signer("idp")), **security)
    xml = responses.response(
        sign_in("_onelogin1"), now=datetime.now(UTC), signer=sp.signer("idp"), protection=protection
    )
    auth = consumed(xml, settings, "_onelogin1")
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.is_authenticated()
    assert auth.get_nameid() == "k3Yp2a9-pairwise"
    assert auth.get_nameid_format() == names.PERSISTENT
    assert auth.get_session_index() == "sid-4711"
    assert auth.get_attributes() == {
        MAIL: ["ada@example.org"],
        GIVEN_NAME: ["Ada"],
        "MemberType": ["REG", "FEL"],
    }
    if protection.encrypt_to is not None:
        assert b"ada@example.org" not in xml


def test_the_stock_sp_refuses_a_response_signed_by_another_key() -> None:
    settings = sp_settings(portal_metadata(sp.signer("idp")))
    xml = responses.response(sign_in("_x"), now=datetime.now(UTC), signer=sp.signer("stranger"))
    auth = consumed(xml, settings, "_x")
    assert auth.get_errors() and not auth.is_authenticated()


def test_during_a_rotation_either_published_certificate_verifies() -> None:
    settings = sp_settings(portal_metadata(sp.signer("next"), sp.signer("idp")))
    for signer in (sp.signer("idp"), sp.signer("next")):
        xml = responses.response(sign_in(None), now=datetime.now(UTC), signer=signer)
        auth = consumed(xml, settings, None)
        assert auth.get_errors() == [], auth.get_last_error_reason()


async def test_a_response_signed_with_the_portals_own_key_verifies_from_its_metadata(
    database_url: str, settings: Settings
) -> None:
    now = datetime.now(UTC)

    async def work(session: AsyncSession) -> tuple[bytes, bytes]:
        published = await certificates.published(session, issuer=ORIGIN, now=now, settings=settings)
        signer = await certificates.signer(session, issuer=ORIGIN, now=now, settings=settings)
        xml = metadata.idp_metadata(
            entity_id=sp.IDP_ENTITY_ID, origin=ORIGIN, certificates=published, now=now
        )
        return xml, responses.response(sign_in("_db"), now=now, signer=signer)

    idp_metadata, xml = await in_unit(database_url, work)
    auth = consumed(xml, sp_settings(idp_metadata), "_db")
    assert auth.get_errors() == [], auth.get_last_error_reason()
