"""What the portal writes is valid against the SAML 2.0 schemas (as shipped with python3-saml,
which validates incoming messages against them in strict mode): its metadata, an error
Response, a LogoutRequest and a LogoutResponse, signed."""

from datetime import UTC, datetime

import pytest
from lxml import etree
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from portal.saml import logout, metadata, names, responses
from tests.saml import sp

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PROTOCOL = "saml-schema-protocol-2.0.xsd"


def valid(xml: bytes, schema: str) -> bool:
    return isinstance(
        OneLogin_Saml2_XML.validate_xml(etree.fromstring(xml), schema), etree._Element
    )


def written() -> dict[str, tuple[bytes, str]]:
    idp = sp.signer("idp")
    return {
        "metadata": (
            metadata.idp_metadata(
                entity_id=sp.IDP_ENTITY_ID,
                origin="https://sso.example.org",
                certificates=[idp.certificate, sp.signer("next").certificate],
                now=NOW,
            ),
            "saml-schema-metadata-2.0.xsd",
        ),
        "error response": (
            responses.error_response(
                idp_entity_id=sp.IDP_ENTITY_ID,
                acs_url=sp.ACS,
                in_response_to="_r1",
                now=NOW,
                code=names.RESPONDER,
                second_level=names.NO_PASSIVE,
                signer=idp,
            ),
            PROTOCOL,
        ),
        "logout request": (
            logout.logout_request(
                idp_entity_id=sp.IDP_ENTITY_ID,
                sp_entity_id=sp.ENTITY_ID,
                destination=sp.SLO,
                name_id="member",
                nameid_format=names.PERSISTENT,
                session_index="sid",
                now=NOW,
                signer=idp,
            ),
            PROTOCOL,
        ),
        "logout response": (
            logout.logout_response(
                idp_entity_id=sp.IDP_ENTITY_ID,
                destination=sp.SLO,
                in_response_to="_l1",
                now=NOW,
                partial=True,
                signer=idp,
            ),
            PROTOCOL,
        ),
    }


@pytest.mark.parametrize(
    "what", ["metadata", "error response", "logout request", "logout response"]
)
def test_what_the_portal_writes_is_schema_valid(what: str) -> None:
    xml, schema = written()[what]
    assert valid(xml, schema)


def test_the_schema_check_fails_for_real() -> None:
    xml, schema = written()["logout request"]
    assert not valid(
        xml.replace(b"<saml:NameID", b"<saml:NameIDx").replace(
            b"</saml:NameID>", b"</saml:NameIDx>"
        ),
        schema,
    )
