"""A SAML service provider as the tests play one: its keys, its metadata, and requests signed
the way SPs sign them. Keys are made once per process (RSA key generation takes a while)."""

from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from portal.saml import bindings, certificates, names, signatures
from portal.saml.certificates import Signer
from portal.saml.sp_metadata import ServiceProvider, parse_metadata
from portal.saml.times import format_instant

ENTITY_ID = "https://sp.example.com/saml/metadata"
ACS = "https://sp.example.com/saml/acs"
ACS_2 = "https://sp.example.com/saml/acs-two"
SLO = "https://sp.example.com/saml/slo"
IDP_ENTITY_ID = "https://sso.example.org/saml/metadata"
SSO_URL = "https://sso.example.org/saml/sso"
SLO_URL = "https://sso.example.org/saml/slo"
MADE_AT = datetime(2026, 1, 1, tzinfo=UTC)
REDIRECT_SLO = f'<md:SingleLogoutService Binding="{names.REDIRECT}" Location="{SLO}"/>'


@cache
def signer(name: str) -> Signer:
    """A key with its self-signed certificate: "idp", "sp", or any other name for a stranger."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    host = "sso.example.org" if name == "idp" else f"{name}.example.com"
    cert = certificates.certificate(key, kid=name, made_at=MADE_AT, host=host)
    return Signer(name, key, cert)


def certificate_until(not_after: datetime, who: str = "sp") -> x509.Certificate:
    """`who`'s key in a self-signed certificate valid until `not_after`, as SPs make theirs."""
    key = signer(who).key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{who}.example.com")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(MADE_AT, not_after) - timedelta(days=365))
        .not_valid_after(not_after)
    )
    return builder.sign(key, hashes.SHA256())


def key_descriptor(certificate: x509.Certificate, use: str) -> str:
    """A KeyDescriptor of `use` (signing, encryption) holding `certificate`, for `metadata`."""
    return (
        f'<md:KeyDescriptor use="{use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{certificates.der_base64(certificate)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        "</md:KeyDescriptor>"
    )


def metadata(
    *,
    entity_id: str = ENTITY_ID,
    requests_signed: bool = True,
    want_assertions_signed: bool = True,
    key_descriptors: str | None = None,
    consumers: str | None = None,
    logout_services: str | None = None,
) -> bytes:
    cert = certificates.der_base64(signer("sp").certificate)
    keys = (
        key_descriptors
        if key_descriptors is not None
        else (
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}'
            "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            '<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data>'
            f"<ds:X509Certificate>{cert}"
            "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        )
    )
    acs = (
        consumers
        if consumers is not None
        else (
            f'<md:AssertionConsumerService Binding="{names.POST}" Location="{ACS}" index="1"/>'
            f'<md:AssertionConsumerService Binding="{names.POST}" Location="{ACS_2}" index="2" '
            'isDefault="true"/>'
        )
    )
    return (
        f'<md:EntityDescriptor xmlns:md="{names.MD}" xmlns:ds="{names.DS}" entityID="{entity_id}">'
        f'<md:SPSSODescriptor protocolSupportEnumeration="{names.SAMLP}" '
        f'AuthnRequestsSigned="{str(requests_signed).lower()}" '
        f'WantAssertionsSigned="{str(want_assertions_signed).lower()}">'
        f"{keys}"
        f"{logout_services if logout_services is not None else REDIRECT_SLO}"
        f"<md:NameIDFormat>{names.PERSISTENT}</md:NameIDFormat>"
        f"{acs}"
        "</md:SPSSODescriptor></md:EntityDescriptor>"
    ).encode()


def registered(**options: object) -> ServiceProvider:
    return parse_metadata(metadata(**options), now=MADE_AT, development=False)  # type: ignore[arg-type]


def authn_request(
    now: datetime,
    *,
    request_id: str = "_request1",
    issuer: str = ENTITY_ID,
    destination: str | None = SSO_URL,
    extra: str = "",
    body: str = "",
    instant: str | None = None,
) -> bytes:
    issue_instant = instant if instant is not None else format_instant(now)
    to = f' Destination="{destination}"' if destination is not None else ""
    return (
        f'<samlp:AuthnRequest xmlns:samlp="{names.SAMLP}" xmlns:saml="{names.SAML}" '
        f'ID="{request_id}" Version="2.0" IssueInstant="{issue_instant}"{to}{extra}>'
        f"<saml:Issuer>{issuer}</saml:Issuer>{body}</samlp:AuthnRequest>"
    ).encode()


def signed_xml(xml: bytes, who: str = "sp") -> bytes:
    """`xml`'s root signed enveloped, as an SP signs an HTTP-POST request."""
    root = etree.fromstring(xml)
    signatures.sign_enveloped(root, signer(who))
    return etree.tostring(root)


def posted(xml: bytes) -> str:
    return bindings.to_post(xml)


def redirect_query(
    xml: bytes, relay_state: str | None = "back-to/page", who: str | None = "sp"
) -> str:
    """The query string an SP redirects the browser with: signed unless `who` is None."""
    value = bindings.to_redirect(xml)
    if who is None:
        from urllib.parse import urlencode

        return urlencode(
            {"SAMLRequest": value} | ({"RelayState": relay_state} if relay_state else {})
        )
    return signatures.sign_redirect("SAMLRequest", value, relay_state, signer(who))
