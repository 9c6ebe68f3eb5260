"""An AuthnRequest's RequestedAuthnContext (SAML Core §3.3.2.2.1): whether the portal's way of
signing a member in — a password over TLS, the class PasswordProtectedTransport, which every
assertion names — is what the SP asked for. A request the portal cannot satisfy is answered
with the status NoAuthnContext, never with an assertion of a weaker kind than asked."""

from dataclasses import dataclass

from portal.saml import names
from portal.saml.refusals import Refused
from portal.saml.xml_parser import Element, at_most_one, text_of

COMPARISONS = ("exact", "minimum", "maximum", "better")
_CLASSES = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
# The classes no stronger than a password over TLS (Authentication Context §3.4): what the
# portal's sign-in is at least as strong as. Any other class (X.509, smartcard, MFA, Kerberos,
# or one of a vendor's own) is taken as stronger: the portal cannot claim it.
NO_STRONGER = frozenset(
    {
        _CLASSES + "unspecified",
        _CLASSES + "InternetProtocol",
        _CLASSES + "InternetProtocolPassword",
        _CLASSES + "Password",
        names.PASSWORD_PROTECTED,
    }
)


@dataclass(frozen=True)
class Requested:
    comparison: str
    classes: tuple[str, ...]  # AuthnContextClassRef values; empty when declarations were named


def read(message: Element) -> Requested | None:
    """The request's RequestedAuthnContext, if it has one."""
    element = at_most_one(message, "samlp:RequestedAuthnContext", "RequestedAuthnContext")
    if element is None:
        return None
    comparison = element.get("Comparison", "exact").strip()
    if comparison not in COMPARISONS:
        raise Refused("bad_comparison", "RequestedAuthnContext's Comparison is not one SAML has.")
    classes = tuple(
        text_of(ref, "An AuthnContextClassRef")
        for ref in element.iterfind(f"{{{names.SAML}}}AuthnContextClassRef")
    )
    return Requested(comparison, classes)


def satisfied(requested: Requested | None) -> bool:
    """Whether the portal's PasswordProtectedTransport meets the request: `exact` names it;
    `minimum` it or a weaker class; `better` a weaker class; `maximum` it or a stronger one. A
    request naming only declarations (AuthnContextDeclRef) is never met: the portal has none."""
    if requested is None:
        return True
    classes = set(requested.classes)
    if requested.comparison == "exact":
        return names.PASSWORD_PROTECTED in classes
    if requested.comparison == "minimum":
        return bool(classes & NO_STRONGER)
    if requested.comparison == "better":
        return bool(classes & (NO_STRONGER - {names.PASSWORD_PROTECTED}))
    return names.PASSWORD_PROTECTED in classes or bool(classes - NO_STRONGER)
