"""The hardened parser and the bindings' decoding refuse every hostile or broken input with a
Refused (a 400), each for its own reason, and read good input as sent."""

import base64
import zlib

import pytest

from portal.saml import bindings, xml_parser
from portal.saml.refusals import Refused

GOOD = b'<a xmlns="urn:x"><b>value</b></a>'
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<lolz>&lol3;</lolz>"
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<foo>&xxe;</foo>"
)
NETWORK_DTD = b'<?xml version="1.0"?><!DOCTYPE foo SYSTEM "http://127.0.0.1:9/x.dtd"><foo/>'
DEEP = b"<a>" * 300 + b"</a>" * 300


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "malformed"),
        (b"<a><b></a>", "malformed"),
        (b"not xml at all", "malformed"),
        (b"<a>" + b"x" * (xml_parser.MAX_MESSAGE_BYTES + 1) + b"</a>", "too_large"),
        (LAUGHS, "dtd"),
        (EXTERNAL, "dtd"),
        (NETWORK_DTD, "dtd"),
        (b"<!DOCTYPE a><a/>", "dtd"),
        (b"<a>&undeclared;</a>", "malformed"),
        (DEEP, "malformed"),  # libxml2's depth limit (256) stays on: huge_tree is off
    ],
)
def test_hostile_or_broken_xml_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        xml_parser.parse(data)
    assert refused.value.reason == reason
    assert refused.value.status == 400


def test_good_xml_is_read() -> None:
    root = xml_parser.parse(GOOD)
    assert xml_parser.text_of(root[0], "b") == "value"


def test_a_value_split_by_a_comment_is_refused() -> None:
    """CVE-2017-11427: c14n drops the comment, so the signature still holds, while a careless
    reader takes only the text before it."""
    root = xml_parser.parse(b"<a>admin@example.org<!-- -->.evil.example</a>")
    with pytest.raises(Refused) as refused:
        xml_parser.text_of(root, "The NameID")
    assert refused.value.reason == "mixed_content"


def deflated(data: bytes) -> str:
    return bindings.to_redirect(data)


def bomb() -> str:
    """A few KiB that inflate to 64 MiB."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = b"\0" * (1024 * 1024)
    body = b"".join(deflater.compress(chunk) for _ in range(64)) + deflater.flush()
    return base64.b64encode(body).decode()


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("", "not_base64"),
        ("%%%not-base64%%%", "not_base64"),
        ("QUJD", "not_deflate"),  # base64 of "ABC": not DEFLATE
        (deflated(GOOD)[:-8], "not_deflate"),  # cut short
        (bomb(), "too_large"),
        (deflated(b"<a>" + b"x" * xml_parser.MAX_MESSAGE_BYTES + b"</a>"), "too_large"),
        ("A" * (bindings.MAX_ENCODED_CHARS + 1), "too_large"),
    ],
)
def test_bad_redirect_encodings_are_refused(encoded: str, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        bindings.from_redirect(encoded)
    assert refused.value.reason == reason


def test_the_deflate_bomb_is_small_and_refused_before_it_inflates() -> None:
    assert len(bomb()) < 200_000  # what arrives; 64 MiB is what it would become


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("", "not_base64"),
        ("####", "not_base64"),
        ("QUJ", "not_base64"),  # bad padding
        (base64.b64encode(b"x" * (xml_parser.MAX_MESSAGE_BYTES + 1)).decode(), "too_large"),
    ],
)
def test_bad_post_encodings_are_refused(encoded: str, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        bindings.from_post(encoded)
    assert refused.value.reason == reason


def test_both_bindings_round_trip_and_post_may_be_wrapped() -> None:
    assert bindings.from_redirect(bindings.to_redirect(GOOD)) == GOOD
    wrapped = "\r\n".join(bindings.to_post(GOOD)[i : i + 8] for i in range(0, 60, 8))
    assert bindings.from_post(wrapped) == GOOD


def test_relay_state_is_returned_unchanged_within_its_limit() -> None:
    assert bindings.relay_state("a b&c") == "a b&c"
    assert bindings.relay_state(None) is None
    with pytest.raises(Refused):
        bindings.relay_state("x" * (bindings.MAX_RELAY_STATE_BYTES + 1))


def test_lxml_and_xmlsec_use_the_same_libxml2() -> None:
    """Both wheels bundle libxml2; xmlsec refuses to work beside an lxml built on another
    version, so an upgrade of one without the other fails here first."""
    import xmlsec
    from lxml import etree

    assert xmlsec.get_libxml_version() == etree.LIBXML_VERSION
