"""Single logout's messages with the same stock SP (python3-saml): its signed LogoutRequest
passes the portal's checks, and the portal's signed LogoutRequest is accepted by the SP, which
answers with a LogoutResponse."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from onelogin.saml2.auth import OneLogin_Saml2_Auth

from portal.saml import bindings, logout, metadata, names, requests, signatures
from portal.saml.requests import Received
from tests.saml import sp
from tests.saml.test_onelogin_sp import ORIGIN, REQUEST_DATA, portal_metadata, sp_settings

SLO_REQUEST_DATA = REQUEST_DATA | {"script_name": "/saml/slo"}


def test_the_stock_sps_logout_request_is_accepted() -> None:
    auth = OneLogin_Saml2_Auth(SLO_REQUEST_DATA, sp_settings(portal_metadata(sp.signer("idp"))))
    url = auth.logout(
        name_id="k3Yp2a9-pairwise", session_index="sid-4711", name_id_format=names.PERSISTENT
    )
    assert url.startswith(ORIGIN + metadata.SLO_PATH + "?")
    query = urlsplit(url).query
    received = Received(names.REDIRECT, parse_qs(query)["SAMLRequest"][0], query)
    found = requests.logout_request(
        requests.read(received),
        received,
        sp.registered(),
        destination=ORIGIN + metadata.SLO_PATH,
        now=datetime.now(UTC),
    )
    assert found.id == auth.get_last_request_id()
    assert (found.name_id, found.session_indexes) == ("k3Yp2a9-pairwise", ("sid-4711",))


def test_the_stock_sp_accepts_the_portals_logout_request() -> None:
    xml = logout.logout_request(
        idp_entity_id=sp.IDP_ENTITY_ID,
        sp_entity_id=sp.ENTITY_ID,
        destination=sp.SLO,
        name_id="k3Yp2a9-pairwise",
        nameid_format=names.PERSISTENT,
        session_index="sid-4711",
        now=datetime.now(UTC),
        signer=None,
    )
    query = signatures.sign_redirect(
        "SAMLRequest", bindings.to_redirect(xml), None, sp.signer("idp")
    )
    get_data = {name: values[0] for name, values in parse_qs(query).items()}
    settings = sp_settings(portal_metadata(sp.signer("idp")), wantMessagesSigned=True)
    auth = OneLogin_Saml2_Auth(SLO_REQUEST_DATA | {"get_data": get_data}, settings)
    answer = auth.process_slo(keep_local_session=True)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert answer is not None and answer.startswith(ORIGIN + metadata.SLO_PATH + "?")
    assert "SAMLResponse=" in answer


def test_the_stock_sp_accepts_the_portals_logout_response() -> None:
    auth = OneLogin_Saml2_Auth(SLO_REQUEST_DATA, sp_settings(portal_metadata(sp.signer("idp"))))
    auth.logout(name_id="k3Yp2a9-pairwise", session_index="sid-4711")
    request_id = auth.get_last_request_id()
    xml = logout.logout_response(
        idp_entity_id=sp.IDP_ENTITY_ID,
        destination=sp.SLO,
        in_response_to=request_id,
        now=datetime.now(UTC),
        partial=False,
        signer=None,
    )
    query = signatures.sign_redirect(
        "SAMLResponse", bindings.to_redirect(xml), None, sp.signer("idp")
    )
    get_data = {name: values[0] for name, values in parse_qs(query).items()}
    settings = sp_settings(portal_metadata(sp.signer("idp")), wantMessagesSigned=True)
    answer = OneLogin_Saml2_Auth(SLO_REQUEST_DATA | {"get_data": get_data}, settings)
    answer.process_slo(keep_local_session=True, request_id=request_id)
    assert answer.get_errors() == [], answer.get_last_error_reason()
