"""A vendor's SP metadata is read into a plain record, or refused with a sentence staff can act
on."""

import pytest

from portal.saml import names
from portal.saml.refusals import Refused
from portal.saml.sp_metadata import parse_metadata
from tests.saml import sp

NOW = sp.MADE_AT


def test_an_sps_metadata_is_read_whole() -> None:
    found = sp.registered()
    assert found.entity_id == sp.ENTITY_ID
    assert [(c.location, c.index, c.is_default) for c in found.assertion_consumers] == [
        (sp.ACS, 1, None),
        (sp.ACS_2, 2, True),
    ]
    assert [(s.binding, s.location) for s in found.logout_services] == [(names.REDIRECT, sp.SLO)]
    assert found.signing_certificates == (sp.signer("sp").certificate,)
    assert found.encryption_certificates == (sp.signer("sp").certificate,)
    assert found.authn_requests_signed and found.want_assertions_signed
    assert found.nameid_formats == (names.PERSISTENT,)


def test_a_key_without_use_signs_and_encrypts() -> None:
    cert = sp.certificates.der_base64(sp.signer("sp").certificate)
    keys = (
        f"<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n{cert[:40]}\n"
        f"{cert[40:]}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )
    found = parse_metadata(sp.metadata(key_descriptors=keys), now=NOW, development=False)
    assert found.signing_certificates == found.encryption_certificates


ACS_HTTP = (
    f'<md:AssertionConsumerService Binding="{names.POST}" '
    'Location="http://sp.example.com/acs" index="1"/>'
)
ACS_REDIRECT_ONLY = (
    f'<md:AssertionConsumerService Binding="{names.REDIRECT}" Location="{sp.ACS}" index="1"/>'
)
ACS_SAME_INDEX = (
    f'<md:AssertionConsumerService Binding="{names.POST}" Location="{sp.ACS}" index="1"/>'
    f'<md:AssertionConsumerService Binding="{names.POST}" Location="{sp.ACS_2}" index="1"/>'
)
ACS_NO_INDEX = f'<md:AssertionConsumerService Binding="{names.POST}" Location="{sp.ACS}"/>'
BAD_CERT = (
    "<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>bm90IGEgY2VydA=="
    "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"<html><body>Not found</body></html>", "not SAML metadata"),
        (b"<md:EntityDescriptor", "not well-formed"),
        (sp.metadata(entity_id=""), "entityID"),
        (sp.metadata(entity_id="x" * 1025), "entityID"),
        (sp.metadata(consumers=ACS_HTTP), "cannot be used"),
        (sp.metadata(consumers=ACS_REDIRECT_ONLY), "HTTP-POST"),
        (sp.metadata(consumers=ACS_SAME_INDEX), "same index"),
        (sp.metadata(consumers=ACS_NO_INDEX), "index"),
        (sp.metadata(key_descriptors=BAD_CERT), "not a valid certificate"),
        (sp.metadata().replace(names.SAMLP.encode(), b"urn:other"), "SPSSODescriptor"),
        (
            sp.metadata().replace(
                b"<md:EntityDescriptor", b'<md:EntityDescriptor validUntil="2020-01-01T00:00:00Z"'
            ),
            "expired",
        ),
        (b'<!DOCTYPE x [<!ENTITY e "e">]>' + sp.metadata(), "DTD"),
    ],
)
def test_unusable_metadata_is_refused_with_a_reason(data: bytes, says: str) -> None:
    with pytest.raises(Refused) as refused:
        parse_metadata(data, now=NOW, development=False)
    assert says in str(refused.value)


def test_development_allows_a_local_http_consumer() -> None:
    local = (
        f'<md:AssertionConsumerService Binding="{names.POST}" '
        'Location="http://localhost:5004/acs" index="0"/>'
    )
    found = parse_metadata(sp.metadata(consumers=local), now=NOW, development=True)
    assert found.assertion_consumers[0].location == "http://localhost:5004/acs"
