"""The parts every message the portal sends shares (SAML Core §3.2.2): a fresh ID, the
envelope's attributes, its Issuer and Status; and the serializing of a finished message."""

import secrets
from datetime import datetime

from lxml import etree

from portal.saml import names
from portal.saml.times import format_instant
from portal.saml.xml_parser import Element

# The assertion namespace is declared where it is first used, not on the message: so an Assertion
# declares its own, and stays whole when encrypted on its own (and read back on its own).
NSMAP = {"samlp": names.SAMLP}


def new_id() -> str:
    """A message or assertion ID: 160 random bits (saml2int), starting with a letter as xs:ID
    requires."""
    return "_" + secrets.token_hex(20)


def message(kind: str, *, issuer: str, destination: str | None, now: datetime) -> Element:
    """A samlp:`kind` with its ID, Version, IssueInstant, Destination and Issuer."""
    root = etree.Element(f"{{{names.SAMLP}}}{kind}", nsmap=NSMAP)
    root.set("ID", new_id())
    root.set("Version", "2.0")
    root.set("IssueInstant", format_instant(now))
    if destination is not None:
        root.set("Destination", destination)
    add_issuer(root, issuer)
    return root


SAML_NSMAP = {"saml": names.SAML}  # for the first saml: element of a branch


def add_issuer(parent: Element, issuer: str) -> None:
    etree.SubElement(parent, f"{{{names.SAML}}}Issuer", nsmap=SAML_NSMAP).text = issuer


def add_status(parent: Element, code: str, second_level: str | None = None) -> None:
    status = etree.SubElement(parent, f"{{{names.SAMLP}}}Status")
    top = etree.SubElement(status, f"{{{names.SAMLP}}}StatusCode", Value=code)
    if second_level is not None:
        etree.SubElement(top, f"{{{names.SAMLP}}}StatusCode", Value=second_level)


def serialized(root: Element) -> bytes:
    """The message as sent: never pretty-printed after signing, which would break the digest."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
