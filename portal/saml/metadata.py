"""The portal's own SAML metadata (SAML Metadata §2.4.3, an IDPSSODescriptor), served at
/saml/metadata: everything a vendor's SP needs to trust the portal — its entityID, a signing
certificate for every published key (the next one included, so a rotation reaches SPs before it
signs anything), the SSO and SLO endpoints for the HTTP-Redirect and HTTP-POST bindings, and the
NameID formats it issues."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509
from lxml import etree

from portal import signing_keys
from portal.saml import names
from portal.saml.certificates import der_base64
from portal.saml.times import format_instant
from portal.settings import Settings

METADATA_PATH = "/saml/metadata"
SSO_PATH = "/saml/sso"
SLO_PATH = "/saml/slo"
# Signing in from "My sites" (start_views.py): the portal's own page, not in the metadata.
START_PATH = "/saml/start"
# How long an SP may use a copy: a week, so one that fetches it rarely never holds an expired copy.
VALID_FOR = timedelta(days=7)
# How soon an SP should fetch it again: within the time a new key is published before it signs.
CACHE_DURATION = timedelta(minutes=10)
assert CACHE_DURATION < signing_keys.PUBLISHED_BEFORE_SIGNING


def entity_id(settings: Settings, request_origin: str) -> str:
    """The portal's entityID: PORTAL_SAML_ENTITY_ID, else the metadata's URL under the issuer."""
    return settings.saml_entity_id or settings.issuer_for(request_origin) + METADATA_PATH


def _duration(delta: timedelta) -> str:
    return f"PT{int(delta.total_seconds())}S"


def idp_metadata(
    *,
    entity_id: str,
    origin: str,
    certificates: Sequence[x509.Certificate],
    now: datetime,
    want_requests_signed: bool = False,
) -> bytes:
    """The EntityDescriptor of the portal as an IdP, `origin` the portal's public address.

    WantAuthnRequestsSigned is false by default: a response only ever goes to an
    AssertionConsumerService registered for the SP, so an unsigned request cannot send it
    elsewhere; a vendor whose metadata says AuthnRequestsSigned has its requests checked."""
    md = f"{{{names.MD}}}"
    root = etree.Element(
        md + "EntityDescriptor",
        nsmap={"md": names.MD, "ds": names.DS},
        entityID=entity_id,
        validUntil=format_instant(now + VALID_FOR),
        cacheDuration=_duration(CACHE_DURATION),
    )
    idp = etree.SubElement(
        root,
        md + "IDPSSODescriptor",
        protocolSupportEnumeration=names.PROTOCOL_SUPPORT,
        WantAuthnRequestsSigned="true" if want_requests_signed else "false",
    )
    for certificate in certificates:
        key = etree.SubElement(idp, md + "KeyDescriptor", use="signing")
        info = etree.SubElement(key, f"{{{names.DS}}}KeyInfo")
        data = etree.SubElement(info, f"{{{names.DS}}}X509Data")
        etree.SubElement(data, f"{{{names.DS}}}X509Certificate").text = der_base64(certificate)
    for binding in (names.REDIRECT, names.POST):
        etree.SubElement(
            idp, md + "SingleLogoutService", Binding=binding, Location=origin + SLO_PATH
        )
    for nameid_format in names.NAMEID_FORMATS:
        etree.SubElement(idp, md + "NameIDFormat").text = nameid_format
    for binding in (names.REDIRECT, names.POST):
        etree.SubElement(
            idp, md + "SingleSignOnService", Binding=binding, Location=origin + SSO_PATH
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
