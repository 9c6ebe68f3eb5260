"""The Response the portal sends to a vendor's AssertionConsumerService by HTTP-POST (SAML
Core §3.3.3; Profiles §4.1.4.2; saml2int): one Assertion, always signed (RSA-SHA256, exclusive
c14n), encrypted to the vendor's certificate where it asks, the Response signed too where the
vendor wants it; and the error Responses (NoPassive, InvalidNameIDPolicy …) that go back the same
way when the request was good enough to answer.

The assertion's windows are short: a bearer assertion is used at once by the browser's POST,
and a short life narrows what a stolen one is worth."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from lxml import etree

from portal.saml import names
from portal.saml.builders import (
    SAML_NSMAP,
    add_issuer,
    add_status,
    message,
    new_id,
    serialized,
)
from portal.saml.certificates import Signer
from portal.saml.encryption import Cipher, encrypt_assertion
from portal.saml.signatures import sign_enveloped
from portal.saml.times import format_instant
from portal.saml.xml_parser import Element

# The browser posts the response at once; minutes are room for a slow page and clock drift.
ASSERTION_LIFETIME = timedelta(minutes=5)
# An SP whose clock runs a little behind the portal's must not see the assertion as not yet valid.
NOT_BEFORE_ALLOWANCE = timedelta(minutes=1)

_SAML = f"{{{names.SAML}}}"


@dataclass(frozen=True)
class Attribute:
    name: str
    values: tuple[str, ...]
    name_format: str = names.ATTRNAME_URI
    friendly_name: str | None = None


@dataclass(frozen=True)
class SignIn:
    """What the assertion says: who signed in, in which portal session, for which SP."""

    idp_entity_id: str
    sp_entity_id: str
    acs_url: str  # the registered AssertionConsumerService: Destination and Recipient
    in_response_to: str | None  # None for an unsolicited (IdP-initiated) response
    name_id: str
    nameid_format: str
    session_index: str
    authn_instant: datetime
    attributes: Sequence[Attribute] = field(default=())


@dataclass(frozen=True)
class Protection:
    """How the vendor wants it: the Response signed too; the Assertion encrypted to a
    certificate, with a cipher."""

    sign_response: bool = False
    encrypt_to: x509.Certificate | None = None
    cipher: Cipher = Cipher.AES256_GCM


def response(
    sign_in: SignIn, *, now: datetime, signer: Signer, protection: Protection = Protection()
) -> bytes:
    """The signed Response (XML) for `sign_in`, ready for base64 and the POST form."""
    root = _envelope(sign_in.idp_entity_id, sign_in.acs_url, sign_in.in_response_to, now)
    add_status(root, names.SUCCESS)
    assertion = _assertion(root, sign_in, now)
    sign_enveloped(assertion, signer)
    if protection.encrypt_to is not None:
        encrypt_assertion(assertion, protection.encrypt_to, protection.cipher)
    if protection.sign_response:
        sign_enveloped(root, signer)
    return serialized(root)


def error_response(
    *,
    idp_entity_id: str,
    acs_url: str,
    in_response_to: str | None,
    now: datetime,
    code: str,
    second_level: str | None,
    signer: Signer,
) -> bytes:
    """A signed Response with no assertion, saying why (e.g. Responder/NoPassive)."""
    root = _envelope(idp_entity_id, acs_url, in_response_to, now)
    add_status(root, code, second_level)
    sign_enveloped(root, signer)
    return serialized(root)


def _envelope(issuer: str, acs_url: str, in_response_to: str | None, now: datetime) -> Element:
    root = message("Response", issuer=issuer, destination=acs_url, now=now)
    if in_response_to is not None:
        root.set("InResponseTo", in_response_to)
    return root


def _assertion(parent: Element, sign_in: SignIn, now: datetime) -> Element:
    assertion = etree.SubElement(
        parent,
        _SAML + "Assertion",
        nsmap=SAML_NSMAP,
        ID=new_id(),
        Version="2.0",
        IssueInstant=format_instant(now),
    )
    add_issuer(assertion, sign_in.idp_entity_id)
    _subject(assertion, sign_in, now)
    conditions = etree.SubElement(
        assertion,
        _SAML + "Conditions",
        NotBefore=format_instant(now - NOT_BEFORE_ALLOWANCE),
        NotOnOrAfter=format_instant(now + ASSERTION_LIFETIME),
    )
    restriction = etree.SubElement(conditions, _SAML + "AudienceRestriction")
    etree.SubElement(restriction, _SAML + "Audience").text = sign_in.sp_entity_id
    statement = etree.SubElement(
        assertion,
        _SAML + "AuthnStatement",
        AuthnInstant=format_instant(sign_in.authn_instant),
        SessionIndex=sign_in.session_index,
    )
    context = etree.SubElement(statement, _SAML + "AuthnContext")
    etree.SubElement(context, _SAML + "AuthnContextClassRef").text = names.PASSWORD_PROTECTED
    if sign_in.attributes:  # an empty AttributeStatement is not valid SAML
        _attributes(assertion, sign_in.attributes)
    return assertion


def _subject(assertion: Element, sign_in: SignIn, now: datetime) -> None:
    subject = etree.SubElement(assertion, _SAML + "Subject")
    name_id = etree.SubElement(subject, _SAML + "NameID", Format=sign_in.nameid_format)
    if sign_in.nameid_format == names.PERSISTENT:  # Core §8.3.7: whose pairwise value it is
        name_id.set("NameQualifier", sign_in.idp_entity_id)
        name_id.set("SPNameQualifier", sign_in.sp_entity_id)
    name_id.text = sign_in.name_id
    confirmation = etree.SubElement(subject, _SAML + "SubjectConfirmation", Method=names.BEARER)
    data = etree.SubElement(
        confirmation,
        _SAML + "SubjectConfirmationData",
        NotOnOrAfter=format_instant(now + ASSERTION_LIFETIME),
        Recipient=sign_in.acs_url,
    )
    if sign_in.in_response_to is not None:
        data.set("InResponseTo", sign_in.in_response_to)


def _attributes(assertion: Element, attributes: Sequence[Attribute]) -> None:
    statement = etree.SubElement(assertion, _SAML + "AttributeStatement")
    for attribute in attributes:
        element = etree.SubElement(
            statement, _SAML + "Attribute", Name=attribute.name, NameFormat=attribute.name_format
        )
        if attribute.friendly_name:
            element.set("FriendlyName", attribute.friendly_name)
        for value in attribute.values:
            etree.SubElement(element, _SAML + "AttributeValue").text = value
