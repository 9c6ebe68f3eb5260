"""A vendor's SAML metadata (SAML Metadata §2.4.4, an SPSSODescriptor), read into a plain record:
what registering a SAML vendor imports from a file, a paste or a URL. Parsed with the hardened
parser; anything the portal could not use safely is refused with a sentence staff can act on
(which element, what is wrong, what to do)."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from portal import urls
from portal.saml import names
from portal.saml.refusals import Refused
from portal.saml.times import parse_instant
from portal.saml.xml_parser import (
    MAX_METADATA_BYTES,
    Element,
    children,
    local_name,
    namespace,
    parse,
    text_of,
)

MAX_ENTITY_ID = 1024  # SAML Core §8.3.6: an entity identifier is at most 1024 characters


@dataclass(frozen=True)
class Endpoint:
    binding: str
    location: str
    index: int | None = None
    is_default: bool | None = None
    response_location: str | None = None


@dataclass(frozen=True)
class ServiceProvider:
    entity_id: str
    assertion_consumers: tuple[Endpoint, ...]  # HTTP-POST ones only: the portal answers so
    logout_services: tuple[Endpoint, ...]
    signing_certificates: tuple[x509.Certificate, ...]
    encryption_certificates: tuple[x509.Certificate, ...]
    authn_requests_signed: bool
    want_assertions_signed: bool
    nameid_formats: tuple[str, ...]

    def default_consumer(self) -> Endpoint:
        """The AssertionConsumerService a request that names none is answered at, and a sign-in
        the portal starts is sent to (Metadata §2.2.3): the one marked isDefault, else the
        first not marked false, else the first."""
        consumers = self.assertion_consumers
        return (
            [c for c in consumers if c.is_default]
            or [c for c in consumers if c.is_default is None]
            or list(consumers)
        )[0]


def _refuse(message: str) -> Refused:
    return Refused("bad_metadata", message)


def parse_metadata(data: bytes, *, now: datetime, development: bool) -> ServiceProvider:
    """The SP described by `data` (an EntityDescriptor, or an EntitiesDescriptor holding
    one), or Refused."""
    root = parse(data, limit=MAX_METADATA_BYTES, what="metadata")
    entity = _the_entity(root)
    _not_expired(root, now)
    _not_expired(entity, now)
    entity_id = entity.get("entityID", "").strip()
    if not entity_id or len(entity_id) > MAX_ENTITY_ID or any(c.isspace() for c in entity_id):
        raise _refuse("The metadata's entityID must be a URI of at most 1024 characters.")
    sp = _the_sp_descriptor(entity)
    signing, encryption = _certificates(sp)
    return ServiceProvider(
        entity_id=entity_id,
        assertion_consumers=_consumers(sp, development),
        logout_services=tuple(
            _endpoint(e, development, "SingleLogoutService")
            for e in children(sp, "md:SingleLogoutService")
            if e.get("Binding") in (names.REDIRECT, names.POST, names.SOAP)
        ),
        signing_certificates=signing,
        encryption_certificates=encryption,
        authn_requests_signed=_boolean(sp, "AuthnRequestsSigned"),
        want_assertions_signed=_boolean(sp, "WantAssertionsSigned"),
        nameid_formats=tuple(text_of(e, "NameIDFormat") for e in children(sp, "md:NameIDFormat")),
    )


def _the_entity(root: Element) -> Element:
    if namespace(root) != names.MD:
        raise _refuse("This is not SAML metadata: its root is not in the SAML metadata namespace.")
    if local_name(root) == "EntityDescriptor":
        return root
    entities = children(root, "md:EntityDescriptor")
    if local_name(root) == "EntitiesDescriptor" and len(entities) == 1:
        return entities[0]
    raise _refuse(
        "The metadata must describe one service provider (one EntityDescriptor); "
        "a federation's aggregate is not accepted."
    )


def _not_expired(element: Element, now: datetime) -> None:
    valid_until = element.get("validUntil")
    if valid_until and parse_instant(valid_until, "validUntil") <= now:
        raise _refuse(f"The metadata expired at {valid_until} (validUntil): ask for a fresh copy.")


def _the_sp_descriptor(entity: Element) -> Element:
    found = [
        sp
        for sp in children(entity, "md:SPSSODescriptor")
        if names.PROTOCOL_SUPPORT in sp.get("protocolSupportEnumeration", "").split()
    ]
    if len(found) != 1:
        raise _refuse(
            "The metadata must have one SPSSODescriptor for SAML 2.0 "
            f"(protocolSupportEnumeration {names.PROTOCOL_SUPPORT})."
        )
    return found[0]


def _consumers(sp: Element, development: bool) -> tuple[Endpoint, ...]:
    found = tuple(
        _endpoint(e, development, "AssertionConsumerService", indexed=True)
        for e in children(sp, "md:AssertionConsumerService")
        if e.get("Binding") == names.POST
    )
    if not found:
        raise _refuse(
            "The metadata has no AssertionConsumerService for the HTTP-POST binding, "
            "the only binding the portal sends responses by."
        )
    indexes = [endpoint.index for endpoint in found]
    if len(set(indexes)) != len(indexes):
        raise _refuse("Two AssertionConsumerService entries have the same index.")
    return found


def _endpoint(element: Element, development: bool, what: str, indexed: bool = False) -> Endpoint:
    location = _url(element.get("Location", ""), what, development)
    response = element.get("ResponseLocation")
    index: int | None = None
    if indexed:
        raw = element.get("index", "")
        if not raw.isdigit() or int(raw) > 65535:
            raise _refuse(f"An {what} has no valid index (a number from 0 to 65535).")
        index = int(raw)
    default = element.get("isDefault")
    return Endpoint(
        binding=element.get("Binding", ""),
        location=location,
        index=index,
        is_default=None if default is None else default in ("true", "1"),
        response_location=_url(response, what, development) if response else None,
    )


def _url(location: str, what: str, development: bool) -> str:
    try:
        return urls.check_vendor_url(location.strip(), development=development)
    except urls.InvalidURL as exc:
        raise _refuse(f"The {what} location {location!r} cannot be used: {exc}.") from None


def _boolean(element: Element, attribute: str) -> bool:
    value = element.get(attribute, "false")
    if value not in ("true", "false", "1", "0"):
        raise _refuse(f"{attribute} must be true or false.")
    return value in ("true", "1")


def _certificates(
    sp: Element,
) -> tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...]]:
    signing: list[x509.Certificate] = []
    encryption: list[x509.Certificate] = []
    for descriptor in children(sp, "md:KeyDescriptor"):
        use = descriptor.get("use")
        if use not in (None, "signing", "encryption"):
            raise _refuse("A KeyDescriptor's use must be signing or encryption.")
        for element in children(descriptor, "ds:KeyInfo/ds:X509Data/ds:X509Certificate"):
            certificate = _certificate(element)
            if use in (None, "signing"):
                signing.append(certificate)
            if use in (None, "encryption"):
                encryption.append(certificate)
    return tuple(signing), tuple(encryption)


def _certificate(element: Element) -> x509.Certificate:
    text = "".join(text_of(element, "An X509Certificate").split())
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise _refuse("An X509Certificate in the metadata is not a valid certificate.") from None
    if not isinstance(certificate.public_key(), RSAPublicKey):
        raise _refuse("A certificate in the metadata is not an RSA key, which the portal needs.")
    return certificate
