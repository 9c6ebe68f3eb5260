"""The single-logout messages the portal sends (SAML Core §3.7; Profiles §4.4): a LogoutRequest
telling an SP that the member's portal session ended, and the LogoutResponse answering an SP's
own LogoutRequest. Signed in the XML for HTTP-POST and SOAP; for HTTP-Redirect the binding
signs the query string instead (signatures.sign_redirect)."""

from datetime import datetime, timedelta

from lxml import etree

from portal.saml import names
from portal.saml.builders import SAML_NSMAP, add_status, message, serialized
from portal.saml.certificates import Signer
from portal.saml.signatures import sign_enveloped
from portal.saml.times import format_instant

# Room for a front-channel chain through several SPs, or an outbox retry of a SOAP call.
LOGOUT_REQUEST_LIFETIME = timedelta(minutes=10)


def logout_request(
    *,
    idp_entity_id: str,
    sp_entity_id: str,
    destination: str,
    name_id: str,
    nameid_format: str,
    session_index: str,
    now: datetime,
    signer: Signer | None,
    request_id: str | None = None,
) -> bytes:
    """A LogoutRequest for the member `name_id`'s session `session_index` at the SP; signed in
    the XML unless `signer` is None (a redirect, which signs the query string). `request_id`:
    its ID, when the caller keeps it to match the answer (builders.new_id)."""
    root = message("LogoutRequest", issuer=idp_entity_id, destination=destination, now=now)
    if request_id is not None:
        root.set("ID", request_id)
    root.set("NotOnOrAfter", format_instant(now + LOGOUT_REQUEST_LIFETIME))
    name = etree.SubElement(root, f"{{{names.SAML}}}NameID", nsmap=SAML_NSMAP, Format=nameid_format)
    if nameid_format == names.PERSISTENT:
        name.set("NameQualifier", idp_entity_id)
        name.set("SPNameQualifier", sp_entity_id)
    name.text = name_id
    etree.SubElement(root, f"{{{names.SAMLP}}}SessionIndex").text = session_index
    if signer is not None:
        sign_enveloped(root, signer)
    return serialized(root)


def logout_response(
    *,
    idp_entity_id: str,
    destination: str,
    in_response_to: str,
    now: datetime,
    partial: bool,
    signer: Signer | None,
) -> bytes:
    """The answer to an SP's LogoutRequest: Success, or PartialLogout when some vendor could
    not be told."""
    root = message("LogoutResponse", issuer=idp_entity_id, destination=destination, now=now)
    root.set("InResponseTo", in_response_to)
    add_status(root, names.SUCCESS, names.PARTIAL_LOGOUT if partial else None)
    if signer is not None:
        sign_enveloped(root, signer)
    return serialized(root)
