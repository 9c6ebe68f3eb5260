"""The requests a vendor's SP sends the portal — an AuthnRequest (SAML Core §3.4.1) and a
LogoutRequest (§3.7.1) — checked and read into plain records.

What is checked, in order: the encoding of the binding (bindings.py) and the XML
(xml_parser.py); the signature, against the SP's registered certificates only, when the SP or
the portal requires one or the SP sent one anyway (a signature present must be valid); then,
read only from the element that signature references (signatures.py: the XSW defence), the
message: its kind and version, an ID, an IssueInstant within the window (times.py), the
Destination (the portal's endpoint; required when signed, Bindings §3.4.5.2), the Issuer (the SP
the request claims to come from), and for an AuthnRequest the AssertionConsumerService, which
must be one registered for that SP: a response is never sent anywhere else."""

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs

from portal.saml import authn_context, bindings, names, signatures
from portal.saml.refusals import Refused
from portal.saml.sp_metadata import Endpoint, ServiceProvider
from portal.saml.times import check_issued, parse_instant
from portal.saml.xml_parser import (
    Element,
    at_most_one,
    exactly_one,
    local_name,
    namespace,
    parse,
    text_of,
)

MAX_ID = 256  # an xs:ID long enough for any SP (UUIDs, 160-bit random values), no longer
_NCNAME = re.compile(r"[A-Za-z_][\w.-]*")


@dataclass(frozen=True)
class Received:
    """A request as a view hands it over: its binding, the SAMLRequest value and, for
    HTTP-Redirect, the raw query string (the signature covers it as sent)."""

    binding: str  # names.REDIRECT or names.POST
    saml_request: str
    query: str = ""


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    issuer: str
    issue_instant: datetime
    consumer: Endpoint  # the registered AssertionConsumerService the response goes to
    force_authn: bool
    is_passive: bool
    nameid_format: str | None  # NameIDPolicy's Format, when the SP asked for one
    allow_create: bool
    requested_context: authn_context.Requested | None
    signed: bool


@dataclass(frozen=True)
class LogoutRequest:
    id: str
    issuer: str
    issue_instant: datetime
    name_id: str
    nameid_format: str | None
    session_indexes: tuple[str, ...]
    not_on_or_after: datetime | None


@dataclass(frozen=True)
class LogoutResponse:
    """An SP's answer to the portal's LogoutRequest through the browser (front channel)."""

    id: str
    issuer: str
    status: str  # the top-level StatusCode's Value


def read(received: Received) -> Element:
    """The request's root element, decoded per its binding and parsed; not yet trusted."""
    if received.binding == names.REDIRECT:
        encodings = parse_qs(received.query).get("SAMLEncoding", [bindings.DEFLATE])
        if encodings != [bindings.DEFLATE]:  # Bindings §3.4.4: the only encoding defined
            raise Refused("binding", "Only the DEFLATE encoding (SAMLEncoding) is accepted.")
        return parse(bindings.from_redirect(received.saml_request))
    if received.binding == names.POST:
        return parse(bindings.from_post(received.saml_request))
    raise Refused("binding", "Only the HTTP-Redirect and HTTP-POST bindings are accepted.")


def claimed_issuer(root: Element) -> str:
    """Who the request says sent it, to find that SP's registration: trusted only once
    `authn_request` or `logout_request` has checked it against that registration."""
    return text_of(exactly_one(root, "saml:Issuer", "The request's Issuer"), "The Issuer")


def authn_request(
    root: Element,
    received: Received,
    sp: ServiceProvider,
    *,
    destination: str,
    now: datetime,
    signature_required: bool,
) -> AuthnRequest:
    """The AuthnRequest `root`, received as `received` from `sp` at the portal's SSO URL
    `destination`, checked; Refused with the reason otherwise."""
    message, signed = _verified(root, received, sp, signature_required or sp.authn_requests_signed)
    common = _common(message, "AuthnRequest", sp, destination=destination, now=now, signed=signed)
    if at_most_one(message, "saml:Subject", "Subject") is not None:
        raise Refused("subject", "An AuthnRequest naming its Subject is not supported.")
    policy = at_most_one(message, "samlp:NameIDPolicy", "NameIDPolicy")
    return AuthnRequest(
        id=common.id,
        issuer=common.issuer,
        issue_instant=common.issue_instant,
        consumer=_consumer(message, sp),
        force_authn=_boolean(message, "ForceAuthn"),
        is_passive=_boolean(message, "IsPassive"),
        nameid_format=None if policy is None else policy.get("Format"),
        allow_create=policy is not None and _boolean(policy, "AllowCreate"),
        requested_context=authn_context.read(message),
        signed=signed,
    )


def logout_request(
    root: Element, received: Received, sp: ServiceProvider, *, destination: str, now: datetime
) -> LogoutRequest:
    """The LogoutRequest `root` from `sp`, checked. Always signed: it ends the member's portal
    session everywhere, so no other site may forge one."""
    message, signed = _verified(root, received, sp, required=True)
    common = _common(message, "LogoutRequest", sp, destination=destination, now=now, signed=signed)
    if at_most_one(message, "saml:EncryptedID", "EncryptedID") is not None:
        raise Refused("encrypted_id", "An encrypted NameID in a LogoutRequest is not supported.")
    name_id = exactly_one(message, "saml:NameID", "The LogoutRequest's NameID")
    not_on_or_after = message.get("NotOnOrAfter")
    expires = parse_instant(not_on_or_after, "NotOnOrAfter") if not_on_or_after else None
    if expires is not None and expires <= now:
        raise Refused("too_old", "The LogoutRequest has expired (NotOnOrAfter).")
    return LogoutRequest(
        id=common.id,
        issuer=common.issuer,
        issue_instant=common.issue_instant,
        name_id=text_of(name_id, "The NameID"),
        nameid_format=name_id.get("Format"),
        session_indexes=tuple(
            text_of(index, "A SessionIndex")
            for index in message.iterfind(f"{{{names.SAMLP}}}SessionIndex")
        ),
        not_on_or_after=expires,
    )


def logout_response(
    root: Element,
    received: Received,
    sp: ServiceProvider,
    *,
    destination: str,
    now: datetime,
    in_response_to: str,
) -> LogoutResponse:
    """The LogoutResponse `root` from `sp`, answering the portal's LogoutRequest `in_response_to`,
    checked. Always signed: it comes through the browser, where anyone could write one, and it
    decides whether the member is told that site signed them out."""
    message, signed = _verified(root, received, sp, required=True, parameter="SAMLResponse")
    common = _common(message, "LogoutResponse", sp, destination=destination, now=now, signed=signed)
    if message.get("InResponseTo") != in_response_to:
        raise Refused(
            "in_response_to",
            "The LogoutResponse does not answer the portal's sign-out request (InResponseTo).",
        )
    status = exactly_one(message, "samlp:Status", "The LogoutResponse's Status")
    code = exactly_one(status, "samlp:StatusCode", "The LogoutResponse's StatusCode")
    return LogoutResponse(id=common.id, issuer=common.issuer, status=code.get("Value", ""))


def _verified(
    root: Element,
    received: Received,
    sp: ServiceProvider,
    required: bool,
    parameter: str = "SAMLRequest",
) -> tuple[Element, bool]:
    """The element to read the message from, and whether its signature was verified."""
    if received.binding == names.REDIRECT:
        # Bindings §3.4.4.1: a redirect carries its signature in the query string, never in the XML.
        if at_most_one(root, "ds:Signature", "Signature") is not None:
            raise Refused(
                "signature_wrapping", "A redirected request must not carry an XML signature."
            )
        if not required and "Signature" not in signatures.raw_parameters(received.query):
            return root, False
        signatures.verify_redirect(received.query, parameter, sp.signing_certificates)
        return root, True
    if not required and at_most_one(root, "ds:Signature", "Signature") is None:
        return root, False
    return signatures.verify_enveloped(root, sp.signing_certificates), True


@dataclass(frozen=True)
class _Common:
    id: str
    issuer: str
    issue_instant: datetime


def _common(
    message: Element,
    kind: str,
    sp: ServiceProvider,
    *,
    destination: str,
    now: datetime,
    signed: bool,
) -> _Common:
    if namespace(message) != names.SAMLP or local_name(message) != kind:
        raise Refused("wrong_message", f"This is not a SAML {kind}.")
    if message.get("Version") != "2.0":
        raise Refused("version", "Only SAML version 2.0 is accepted.")
    request_id = message.get("ID", "")
    if len(request_id) > MAX_ID or not _NCNAME.fullmatch(request_id):
        raise Refused("bad_id", f"The {kind}'s ID is missing or not a valid XML ID.")
    issue_instant = parse_instant(message.get("IssueInstant", ""), "IssueInstant")
    check_issued(issue_instant, now)
    sent_to = message.get("Destination")
    if sent_to != destination and (sent_to is not None or signed):
        raise Refused(
            "destination", f"The {kind}'s Destination must be {destination} (it is {sent_to})."
        )
    issuer_element = exactly_one(message, "saml:Issuer", f"The {kind}'s Issuer")
    if issuer_element.get("Format", names.ENTITY) != names.ENTITY:
        raise Refused("issuer", "The Issuer's Format must be the entity format.")
    issuer = text_of(issuer_element, "The Issuer")
    if issuer != sp.entity_id:
        raise Refused("issuer", f"The {kind} comes from {issuer}, not from {sp.entity_id}.")
    return _Common(request_id, issuer, issue_instant)


def _consumer(message: Element, sp: ServiceProvider) -> Endpoint:
    """The registered ACS the request names, by URL or index (not both, Core §3.4.1), else the
    SP's default (Metadata §2.2.3)."""
    url = message.get("AssertionConsumerServiceURL")
    index = message.get("AssertionConsumerServiceIndex")
    binding = message.get("ProtocolBinding")
    if url is not None and index is not None:
        raise Refused("acs", "Give AssertionConsumerServiceURL or its index, not both.")
    if binding is not None and binding != names.POST:
        raise Refused("acs", "The portal answers only by HTTP-POST (ProtocolBinding).")
    consumers = sp.assertion_consumers
    if url is not None:
        found = [c for c in consumers if c.location == url]
    elif index is not None:
        found = [c for c in consumers if str(c.index) == index.strip()]
    else:
        return sp.default_consumer()
    if not found:
        raise Refused(
            "unregistered_acs",
            "The AssertionConsumerService asked for is not one registered for this vendor.",
        )
    return found[0]


def _boolean(element: Element, attribute: str) -> bool:
    value = element.get(attribute, "false").strip()
    if value not in ("true", "false", "1", "0"):
        raise Refused("bad_boolean", f"{attribute} must be true or false.")
    return value in ("true", "1")
