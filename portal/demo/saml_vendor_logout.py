"""Step 4 of the demo's SAML vendor (saml_vendor.py): told of a sign-out begun elsewhere.

When the member's portal session ends anywhere else, the portal POSTs a signed LogoutRequest in
a SOAP envelope to the SingleLogoutService our metadata offers with the SOAP binding
(docs/saml.md, "Being told of a sign-out elsewhere"). python3-saml checks it as it checks any
LogoutRequest (the schema, NotOnOrAfter, Destination = here, Issuer = the portal's entityID) and
its XML signature against the certificates of the portal's metadata. Then our sessions begun
with its SessionIndex end, as the other demo vendors' do on a logout token (vendor_logout.py:
the same memory of the portal sessions that ended), and we answer with a LogoutResponse, Success.
A repeat ends nothing more and is answered the same.
"""

import base64
import logging

from lxml import etree
from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from quart import Blueprint, Response, request
from quart.typing import ResponseReturnValue

from portal.demo import saml_vendor
from portal.demo.vendor_logout import sign_outs
from portal.saml import bindings, names

log = logging.getLogger(__name__)
blueprint = Blueprint("saml_vendor_logout", __name__)
BODY = f"{{{names.SOAP_ENVELOPE}}}Body"
LOGOUT_REQUEST = f"{{{names.SAMLP}}}LogoutRequest"
SIGNATURE = "/samlp:LogoutRequest/ds:Signature"  # the message's own: a direct child of its root
REFERENCE = f"{{{names.DS}}}SignedInfo/{{{names.DS}}}Reference"
MAX_BYTES = 128 * 1024  # a LogoutRequest is a few kilobytes


class Refused(Exception):
    """The SOAP request is not a sign-out we accept; str() says why (logged, and answered)."""


@blueprint.post(saml_vendor.SOAP_SLO)
async def soap_logout() -> ResponseReturnValue:
    # The signature is in the XML, checked below; python3-saml's flag asks for one in a query.
    settings = await saml_vendor.reach_portal(wantMessagesSigned=False)
    try:
        xml = logout_request_in(await request.get_data(True, False, False))
        session_indexes = checked(settings, xml)
    except (Refused, OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError, ValueError) as exc:
        log.warning("the portal's SOAP sign-out was refused: %s", exc)
        return Response(f"Not a sign-out we accept: {exc}", 400, content_type="text/plain")
    sign_outs().ended.update(session_indexes)
    answer = OneLogin_Saml2_Logout_Response(settings)
    answer.build(OneLogin_Saml2_Logout_Request.get_id(xml))
    envelope = bindings.to_soap(answer.get_xml().encode())
    return Response(envelope, 200, content_type="text/xml; charset=utf-8")


def logout_request_in(body: bytes) -> bytes:
    """The LogoutRequest, the one child of the envelope's Body, as it was signed."""
    if len(body) > MAX_BYTES:
        raise Refused("larger than a sign-out")
    try:
        envelope = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        raise Refused("not XML") from None
    if envelope.getroottree().docinfo.doctype:
        raise Refused("a DTD")  # SAML never needs one: no entity is ever read
    found = envelope.find(BODY)
    if envelope.tag != f"{{{names.SOAP_ENVELOPE}}}Envelope" or found is None or len(found) != 1:
        raise Refused("not a SOAP envelope with one message")
    if found[0].tag != LOGOUT_REQUEST:
        raise Refused("not a LogoutRequest")
    return bytes(etree.tostring(found[0]))


def checked(settings: OneLogin_Saml2_Settings, xml: bytes) -> list[str]:
    """The SessionIndexes of the LogoutRequest, once python3-saml has checked it and its
    signature by the portal."""
    logout = OneLogin_Saml2_Logout_Request(settings, base64.b64encode(xml).decode())
    logout.is_valid(arrival(), raise_exceptions=True)
    idp = settings.get_idp_data()
    certs = idp.get("x509certMulti", {}).get("signing") or [idp["x509cert"]]
    OneLogin_Saml2_Utils.validate_sign(
        xml,
        multicerts=[OneLogin_Saml2_Utils.format_cert(cert) for cert in certs],
        xpath=SIGNATURE,
        raise_exceptions=True,
    )
    # python3-saml checks that the signature verifies, not what it covers: it must cover the
    # whole message, else what we read could be outside what the portal signed (wrapping).
    root = etree.fromstring(xml)
    reference = root.find(f"{{{names.DS}}}Signature/{REFERENCE}")
    if reference is None or reference.get("URI") != "#" + root.get("ID", ""):
        raise Refused("the signature does not cover the LogoutRequest")
    return list(OneLogin_Saml2_Logout_Request.get_session_indexes(xml))


def arrival() -> dict[str, str]:
    """Where the request arrived, as python3-saml reads it (it checks Destination)."""
    return {
        "https": "on" if request.scheme == "https" else "off",
        "http_host": request.host,
        "script_name": request.path,
    }
