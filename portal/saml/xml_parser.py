"""The one XML parser of the SAML front end, and the careful readers of what it parsed.

Everything a vendor sends (requests, metadata) is parsed here and nowhere else, with the XML
attacks shut off: no DTD (a document that has one is refused), no entity expansion (billion
laughs, external files), no network access, libxml2's own size and depth limits left on, and a
size limit before parsing. A value is read only from an element that holds plain text: a comment
inside a signed value splits it without changing the signature (CVE-2017-11427), so it is
refused."""

from lxml import etree

from portal.saml.names import NAMESPACES
from portal.saml.refusals import Refused

MAX_MESSAGE_BYTES = 128 * 1024  # a request or logout message: a few KiB in practice
MAX_METADATA_BYTES = 1024 * 1024  # one SP's metadata, several certificates included

Element = etree._Element


def _parser() -> etree.XMLParser:
    # One per document: an lxml parser keeps state between documents.
    return etree.XMLParser(
        resolve_entities=False,  # no entity is ever expanded: no billion laughs, no file read
        no_network=True,  # nothing is fetched while parsing
        load_dtd=False,  # an external DTD is never loaded
        dtd_validation=False,
        huge_tree=False,  # libxml2's limits on depth and text size stay on
        remove_comments=False,  # kept so that text_of can refuse a value split by one
        remove_pis=False,
    )


def parse(data: bytes, *, limit: int = MAX_MESSAGE_BYTES, what: str = "SAML message") -> Element:
    """The root element of `data`; Refused when it is too large, not well-formed, or has a DTD."""
    if len(data) > limit:
        raise Refused("too_large", f"The {what} is too large (over {limit // 1024} KiB).")
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise Refused("malformed", f"The {what} is not well-formed XML: {exc.msg}.") from None
    # A DTD is how entities are declared; SAML never needs one (saml2int), so none is accepted.
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Refused("dtd", f"The {what} has a DTD (<!DOCTYPE>), which SAML never needs.")
    return tree.getroot()


def text_of(element: Element, what: str) -> str:
    """The text of `element` (surrounding white space removed), refused when the element holds
    anything else: a comment or a child element."""
    if len(element):  # comments and processing instructions are children in lxml
        raise Refused("mixed_content", f"{what} must be plain text.")
    return (element.text or "").strip()


def children(element: Element, path: str) -> list[Element]:
    """The elements `path` finds (an ElementPath with the NAMESPACES prefixes)."""
    return list(element.iterfind(path, NAMESPACES))


def at_most_one(element: Element, path: str, what: str) -> Element | None:
    found = children(element, path)
    if len(found) > 1:
        raise Refused("duplicate", f"{what} appears more than once.")
    return found[0] if found else None


def exactly_one(element: Element, path: str, what: str) -> Element:
    found = at_most_one(element, path, what)
    if found is None:
        raise Refused("missing", f"{what} is missing.")
    return found


def local_name(element: Element) -> str:
    return etree.QName(element).localname


def namespace(element: Element) -> str | None:
    return etree.QName(element).namespace
