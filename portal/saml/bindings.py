"""A SAML message as the two browser bindings carry it (SAML Bindings §3.4, §3.5): decoded into
the XML bytes the parser reads, and encoded for a redirect or a form.

HTTP-Redirect: base64 of raw DEFLATE (RFC 1951), in the query string. The encoded text is
limited first, and the inflated size too, by inflating at most that much: a few hundred bytes of
DEFLATE can stand for gigabytes (a deflate bomb), so it is never inflated whole.
HTTP-POST: base64 of the XML itself, in a form field (line breaks allowed, as some SPs wrap it).
Every bad input is a Refused (a 400)."""

import base64
import binascii
import re
import zlib

from portal.saml import names
from portal.saml.refusals import Refused
from portal.saml.xml_parser import MAX_MESSAGE_BYTES

# base64 of MAX_MESSAGE_BYTES, with room for line breaks in a POSTed form field.
MAX_ENCODED_CHARS = MAX_MESSAGE_BYTES * 4 // 3 + 4096
# Bindings §3.4.3 tells SPs to keep RelayState within 80 bytes, but stock SPs send whole URLs
# (python3-saml its return address): a bound that keeps the echo small without refusing them.
MAX_RELAY_STATE_BYTES = 1024
DEFLATE = "urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE"
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


def _unbase64(encoded: str, what: str) -> bytes:
    if len(encoded) > MAX_ENCODED_CHARS:
        raise Refused("too_large", f"{what} is too large.")
    compact = re.sub(r"\s+", "", encoded).encode("ascii", "replace")
    if not compact or not _BASE64.fullmatch(compact):
        raise Refused("not_base64", f"{what} is not base64.")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("not_base64", f"{what} is not base64.") from None


def from_redirect(encoded: str, what: str = "SAMLRequest") -> bytes:
    """The XML of an HTTP-Redirect parameter: base64, then raw DEFLATE inflated to at most
    MAX_MESSAGE_BYTES."""
    deflated = _unbase64(encoded, what)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw DEFLATE, no zlib header (§3.4.4.1)
    try:
        xml = inflater.decompress(deflated, MAX_MESSAGE_BYTES)
    except zlib.error:
        raise Refused("not_deflate", f"{what} is not DEFLATE-compressed.") from None
    if inflater.unconsumed_tail or (not inflater.eof and inflater.flush(1)):
        raise Refused("too_large", f"{what} inflates to more than {MAX_MESSAGE_BYTES} bytes.")
    if not inflater.eof:
        raise Refused("not_deflate", f"{what} is cut short.")
    return xml


def from_post(encoded: str, what: str = "SAMLRequest") -> bytes:
    """The XML of an HTTP-POST form field: base64 of at most MAX_MESSAGE_BYTES."""
    xml = _unbase64(encoded, what)
    if len(xml) > MAX_MESSAGE_BYTES:
        raise Refused("too_large", f"{what} is larger than {MAX_MESSAGE_BYTES} bytes.")
    return xml


def to_redirect(xml: bytes) -> str:
    """`xml` as an HTTP-Redirect parameter's value (before URL encoding)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return base64.b64encode(deflater.compress(xml) + deflater.flush()).decode("ascii")


def to_post(xml: bytes) -> str:
    """`xml` as an HTTP-POST form field's value."""
    return base64.b64encode(xml).decode("ascii")


def relay_state(value: str | None) -> str | None:
    """RelayState as received, to return unchanged; refused over MAX_RELAY_STATE_BYTES."""
    if value is not None and len(value.encode()) > MAX_RELAY_STATE_BYTES:
        raise Refused("relay_state", f"RelayState is longer than {MAX_RELAY_STATE_BYTES} bytes.")
    return value


def to_soap(xml: bytes) -> bytes:
    """SAML's SOAP binding (Bindings §3.2): the message, byte for byte as it was signed, the only
    child of a SOAP 1.1 Body (wrapped as bytes, not re-serialized, so the signature stays whole)."""
    message = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<soap-env:Envelope xmlns:soap-env="' + names.SOAP_ENVELOPE.encode() + b'">'
        b"<soap-env:Body>" + message + b"</soap-env:Body></soap-env:Envelope>"
    )
